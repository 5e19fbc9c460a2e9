/**
 * @module
 * The operator's view: one snapshot of every isolate's connections, topics and
 * their lag, transfer sessions by state, notification and rate-limit counters,
 * and recent problems.
 */
export {
  type AdminSnapshot,
  type AdminSources,
  buildAdminSnapshot,
  type IsolateDetails,
} from "./snapshot.ts";
