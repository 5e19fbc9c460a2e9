import assert from "node:assert/strict";
import { decodeBase64Url, encodeBase64Url } from "../../text/mod.ts";
import {
  generatePairingSecret,
  linkWithSecret,
  openJson,
  PairingError,
  PairingSession,
  sasWords,
  secretFromFragment,
} from "./mod.ts";

const FINGERPRINTS = { sender: "sha-256 AA:01", receiver: "sha-256 BB:02" };

/** A sender and a receiver paired with each other (the receiver holding `secret` or not). */
async function pairedSides(receiverSecret: string | null, secret = generatePairingSecret()) {
  const sender = await PairingSession.create("sender", { secret });
  const receiver = await PairingSession.create("receiver", { secret: receiverSecret });
  await receiver.pair(sender.publicKey, { withSecret: receiverSecret !== null });
  await sender.pair(receiver.publicKey, { withSecret: receiverSecret !== null });
  return { sender, receiver, secret };
}

const senderSees = { local: FINGERPRINTS.sender, remote: FINGERPRINTS.receiver };
const receiverSees = { local: FINGERPRINTS.receiver, remote: FINGERPRINTS.sender };

Deno.test("the secret goes into the fragment and is read back; malformed ones are ignored", () => {
  const secret = generatePairingSecret();
  const link = linkWithSecret("https://sb.example/r/K7QX3M", secret);
  assert.equal(new URL(link).pathname, "/r/K7QX3M");
  assert.equal(new URL(link).search, "");
  assert.equal(secretFromFragment(new URL(link).hash), secret);
  assert.equal(secretFromFragment(""), null);
  assert.equal(secretFromFragment("#s=short"), null);
});

Deno.test("both sides show the same SAS, and the same one again for the same keys", async () => {
  const { sender, receiver } = await pairedSides(null);
  const words = await sender.sas(senderSees);
  assert.equal(words.length, 4);
  assert.deepEqual(await receiver.sas(receiverSees), words);
  assert.deepEqual(await sender.sas(senderSees), words);
  assert.notDeepEqual(await sender.sas(null), words, "the fingerprints are part of it");
});

Deno.test("sasWords() is a fixed function of the transcript", async () => {
  const transcript = {
    senderPublicKey: "A".repeat(87),
    receiverPublicKey: "B".repeat(87),
    senderFingerprint: null,
    receiverFingerprint: null,
  };
  assert.deepEqual(await sasWords(transcript), await sasWords({ ...transcript }));
  assert.notDeepEqual(
    await sasWords(transcript),
    await sasWords({ ...transcript, receiverFingerprint: "x" }),
  );
});

Deno.test("a substituted key (someone in between) gives each side different words", async () => {
  const secret = generatePairingSecret();
  const sender = await PairingSession.create("sender", { secret });
  const receiver = await PairingSession.create("receiver", { secret: null });
  const middleToSender = await PairingSession.create("receiver", { secret: null });
  const middleToReceiver = await PairingSession.create("sender", { secret: null });
  await sender.pair(middleToSender.publicKey, { withSecret: false });
  await middleToSender.pair(sender.publicKey, { withSecret: false });
  await receiver.pair(middleToReceiver.publicKey, { withSecret: false });
  await middleToReceiver.pair(receiver.publicKey, { withSecret: false });
  assert.notDeepEqual(await sender.sas(null), await receiver.sas(null));
});

Deno.test("confirmation codes check out between the two sides and fail on another transcript", async () => {
  const { sender, receiver } = await pairedSides(null);
  const code = await sender.confirmation(senderSees);
  assert.equal(await receiver.checkConfirmation(receiverSees, code), true);
  const back = await receiver.confirmation(receiverSees);
  assert.equal(await sender.checkConfirmation(senderSees, back), true);
  // A sender's code does not pass as the receiver's (no reflection).
  assert.equal(await sender.checkConfirmation(senderSees, code), false);
  // A DTLS endpoint in between: the receiver saw another certificate.
  const other = { local: FINGERPRINTS.receiver, remote: "sha-256 EE:66" };
  assert.equal(await receiver.checkConfirmation(other, code), false);
  assert.equal(await receiver.checkConfirmation(receiverSees, "not base64!"), false);
});

Deno.test("with the secret, someone who substitutes keys cannot produce a code or open a box", async () => {
  const secret = generatePairingSecret();
  const sender = await PairingSession.create("sender", { secret });
  const receiver = await PairingSession.create("receiver", { secret });
  // The one in between knows every public key but not the secret.
  const middle = await PairingSession.create("sender", { secret: generatePairingSecret() });
  await receiver.pair(middle.publicKey, { withSecret: true });
  await middle.pair(receiver.publicKey, { withSecret: true });
  const box = await middle.seal([{ name: "a.txt", size: 1, type: "" }], "files");
  await assert.rejects(receiver.open(box, "files"), PairingError);
  assert.equal(
    await receiver.checkConfirmation(null, await middle.confirmation(null)),
    false,
  );
  assert.ok(sender.publicKey);
});

Deno.test("a sealed value opens on the other side, and not when a byte, the label or the key changed", async () => {
  const { sender, receiver } = await pairedSides(null);
  const files = [{ name: "report.pdf", size: 1234, type: "application/pdf" }];
  const box = await sender.seal(files, "files");
  assert.ok(!box.includes("report"));
  assert.deepEqual(await receiver.open(box, "files"), files);
  const bytes = decodeBase64Url(box);
  bytes[bytes.length - 1]! ^= 1;
  await assert.rejects(receiver.open(encodeBase64Url(bytes), "files"), PairingError);
  await assert.rejects(receiver.open(box, "other"), PairingError);
  const stranger = await pairedSides(null);
  await assert.rejects(stranger.receiver.open(box, "files"), PairingError);
  await assert.rejects(
    openJson(
      await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
        "encrypt",
        "decrypt",
      ]),
      box,
      "files",
    ),
    PairingError,
  );
});

Deno.test("both sides derive the same file keys; the secret changes them", async () => {
  const secret = generatePairingSecret();
  const withSecret = await pairedSides(secret, secret);
  assert.equal(
    await withSecret.sender.fileKeyText(0),
    await withSecret.receiver.fileKeyText(0),
  );
  assert.notEqual(await withSecret.sender.fileKeyText(0), await withSecret.sender.fileKeyText(1));
  assert.equal(withSecret.receiver.withSecret, true);
  const typed = await pairedSides(null);
  assert.equal(typed.receiver.withSecret, false);
  assert.equal(await typed.sender.fileKeyText(0), await typed.receiver.fileKeyText(0));
});

Deno.test("a receiver restored after a reload keeps its keys", async () => {
  const secret = generatePairingSecret();
  const { sender, receiver } = await pairedSides(secret, secret);
  const restored = await PairingSession.create("receiver", {
    secret: receiver.secret,
    stored: receiver.toStored(),
  });
  assert.equal(restored.publicKey, receiver.publicKey);
  assert.deepEqual(await restored.sas(null), await sender.sas(null));
});
