const kv = await Deno.openKv(":memory:");
for (const n of [10, 11, 100, 1000, 1001]) { try { await kv.getMany(Array.from({length:n},(_, i)=>["k",i])); console.log(n, "ok"); } catch (e) { console.log(n, String(e)); } }
