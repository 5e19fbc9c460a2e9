/**
 * The randomized cross-isolate test with BroadcastChannel off: the isolates learn
 * of each other's events from KV alone. (Its own file, so that the suite runs it
 * beside tests/realtime_cross_isolate_test.ts.)
 */
import { randomizedCrossIsolateTest } from "./realtime_randomized.ts";

randomizedCrossIsolateTest("off");
