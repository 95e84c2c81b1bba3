// Drives the KurrentDB double with KurrentDB's official Node.js client (@kurrent/kurrentdb-client,
// whose appends, deletes and subscriptions use its own gRPC code, not the Rust crate the adapter
// uses). Run by tests/kurrentdb_node.rs: `node double.cjs <connection string>`, with NODE_PATH
// pointing at the client's node_modules. Exits 0 when every check holds; on the first one that
// does not, prints it and exits 1. Never runs longer than LIMIT_MS.
"use strict";

const assert = require("node:assert/strict");
const {
  KurrentDBClient,
  jsonEvent,
  ANY,
  NO_STREAM,
  START,
  streamNameFilter,
  excludeSystemEvents,
  WrongExpectedVersionError,
  StreamDeletedError,
} = require("@kurrent/kurrentdb-client");

const LIMIT_MS = 60_000;

/** Resolves when `check()` holds, re-checked whenever `notify()` is called. */
class Condition {
  constructor() {
    this.waiters = [];
  }
  notify() {
    this.waiters = this.waiters.filter(({ check, resolve }) => !(check() && (resolve(), true)));
  }
  until(check) {
    return check() ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ check, resolve }));
  }
}

const event = (tag) => jsonEvent({ type: "causeway.node.v1.Tagged", data: { tag } });

async function rejectsWith(promise, type) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error && error.constructor.name}: ${error}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but it succeeded`);
}

async function appends(client) {
  const batch = [event("a"), event("b")];
  const created = await client.appendToStream("node-order-1", batch, { streamState: NO_STREAM });
  assert.equal(created.nextExpectedRevision, 1n);
  assert.ok(created.position.commit > 0n);
  const stale = await rejectsWith(
    client.appendToStream("node-order-1", event("c"), { streamState: 0n }),
    WrongExpectedVersionError,
  );
  assert.equal(stale.actualState, 1n);
  assert.equal(stale.expectedState, 0n);
  const exists = await rejectsWith(
    client.appendToStream("node-order-1", event("c"), { streamState: NO_STREAM }),
    WrongExpectedVersionError,
  );
  assert.equal(exists.expectedState, "no_stream");
  // The same ids again: acknowledged, stored once.
  const again = await client.appendToStream("node-order-1", batch, { streamState: ANY });
  assert.equal(again.nextExpectedRevision, 1n);
  assert.equal(again.position.commit, created.position.commit);
  // One stored id with a new one: refused.
  await rejectsWith(
    client.appendToStream("node-order-1", [batch[0], event("new")], { streamState: ANY }),
    WrongExpectedVersionError,
  );
}

async function deletes(client) {
  await client.appendToStream("node-cart-1", [event("a"), event("b")], { streamState: NO_STREAM });
  // A wrong expected revision on delete is a status whose trailers name the stream and versions.
  const wrong = await rejectsWith(
    client.deleteStream("node-cart-1", { expectedRevision: 0n }),
    WrongExpectedVersionError,
  );
  assert.equal(wrong.streamName, "node-cart-1");
  assert.equal(wrong.expectedState, 0n);
  assert.equal(wrong.actualState, 1n);
  await client.deleteStream("node-cart-1", { expectedRevision: 1n });
  // After a soft delete the old last revision still holds.
  const after = await client.appendToStream("node-cart-1", event("c"), { streamState: 1n });
  assert.equal(after.nextExpectedRevision, 2n);

  const tombstoneWrong = await rejectsWith(
    client.tombstoneStream("node-cart-1", { expectedRevision: NO_STREAM }),
    WrongExpectedVersionError,
  );
  assert.equal(tombstoneWrong.streamName, "node-cart-1");
  assert.equal(tombstoneWrong.expectedState, -1n);
  assert.equal(tombstoneWrong.actualState, 2n);
  await client.tombstoneStream("node-cart-1", { expectedRevision: ANY });
  for (const attempt of [
    () => client.appendToStream("node-cart-1", event("d")),
    () => client.tombstoneStream("node-cart-1"),
    () => client.deleteStream("node-cart-1"),
  ]) {
    const deleted = await rejectsWith(attempt(), StreamDeletedError);
    assert.equal(deleted.streamName, "node-cart-1");
  }
}

/** Subscribes to $all with `options`, recording what arrives. */
function record(client, options) {
  const seen = { events: [], checkpoints: [], caughtUp: [], fellBehind: 0, error: null };
  const changed = new Condition();
  const filter = options.filter && {
    ...options.filter,
    checkpointReached: (_subscription, position) => {
      seen.checkpoints.push(position.commit);
      changed.notify();
    },
  };
  const subscription = client.subscribeToAll({ ...options, filter });
  subscription.on("data", (resolved) => {
    seen.events.push(resolved.event);
    changed.notify();
  });
  subscription.on("caughtUp", (info) => {
    seen.caughtUp.push(info.position && info.position.commit);
    changed.notify();
  });
  subscription.on("fellBehind", () => {
    seen.fellBehind += 1;
    changed.notify();
  });
  subscription.on("error", (error) => {
    seen.error = error;
    changed.notify();
  });
  const until = async (check) => {
    await changed.until(() => seen.error !== null || check());
    if (seen.error !== null) throw seen.error;
  };
  return { seen, until, subscription };
}

async function appendMixed(client, count, wanted) {
  const positions = [];
  for (let i = 0; i < count; i += 1) {
    const stream = wanted.includes(i) ? "node-wanted-1" : "node-other-1";
    positions.push((await client.appendToStream(stream, event(`m${i}`))).position.commit);
  }
  return positions;
}

async function filteredCheckpoints(client) {
  const e = await appendMixed(client, 22, [5, 14]);
  const { seen, until, subscription } = record(client, {
    fromPosition: { commit: e[0], prepare: e[0] },
    filter: streamNameFilter({ prefixes: ["node-wanted-"], maxSearchWindow: 4 }),
  });
  await until(() => seen.caughtUp.length === 1 && seen.events.length === 2);
  assert.deepEqual(seen.events.map((x) => x.position.commit), [e[5], e[14]]);
  assert.deepEqual(seen.checkpoints, [e[0], e[5], e[8], e[14], e[16], e[20]]);
  assert.deepEqual(seen.caughtUp, [e[20]], "caught up at the last page, short of the head");
  // Live: nothing for three filtered-out events; the fourth record fills the interval.
  const live = await appendMixed(client, 4, [3]);
  await until(() => seen.checkpoints.length === 7);
  assert.deepEqual(seen.events.map((x) => x.position.commit), [e[5], e[14], live[3]]);
  assert.equal(seen.checkpoints[6], live[3]);
  await subscription.unsubscribe();
}

async function systemEventsAndFallingBehind(client) {
  // Excluding system events (a regular expression on the event type) skips what $all starts with.
  const { seen, until, subscription } = record(client, {
    fromPosition: START,
    filter: excludeSystemEvents(),
  });
  await until(() => seen.caughtUp.length === 1);
  assert.ok(seen.events.length > 0);
  assert.ok(seen.events.every((x) => !x.type.startsWith("$")), "no system event delivered");
  await subscription.unsubscribe();

  const burst = record(client, {
    fromPosition: START,
    filter: streamNameFilter({ prefixes: ["node-burst-"] }),
  });
  await burst.until(() => burst.seen.caughtUp.length === 1);
  const events = Array.from({ length: 40 }, (_, i) => event(`b${i}`));
  const written = await client.appendToStream("node-burst-1", events, { streamState: NO_STREAM });
  await burst.until(() => burst.seen.caughtUp.length === 2 && burst.seen.events.length === 40);
  assert.equal(burst.seen.fellBehind, 1, "more than the live buffer at once: fell behind");
  assert.equal(burst.seen.events[39].position.commit, written.position.commit);
  assert.equal(burst.seen.caughtUp[1], written.position.commit);
  await burst.subscription.unsubscribe();
}

async function main() {
  const url = process.argv[2];
  assert.ok(url, "usage: node double.cjs <connection string>");
  const client = KurrentDBClient.connectionString(url);
  try {
    for (const [name, check] of Object.entries({
      appends,
      deletes,
      filteredCheckpoints,
      systemEventsAndFallingBehind,
    })) {
      await check(client);
      console.log(`ok ${name}`);
    }
  } finally {
    await client.dispose();
  }
}

const limit = setTimeout(() => {
  console.error(`not done within ${LIMIT_MS} ms`);
  process.exit(1);
}, LIMIT_MS);
main().then(
  () => {
    clearTimeout(limit);
    process.exit(0);
  },
  (error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exit(1);
  },
);
