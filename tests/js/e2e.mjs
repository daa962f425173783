// End-to-end check of the gateway with the official @upstash/redis client.
//
// The client runs with its defaults: base64 responses ("Upstash-Encoding:
// base64"), automatic pipelining, read-your-writes sync tokens and automatic
// JSON deserialization of results. Reads UPSTASH_REDIS_REST_URL,
// UPSTASH_REDIS_REST_TOKEN and KEY_PREFIX; prints one JSON line per check and
// exits with status 1 if any check fails.
import { isDeepStrictEqual } from "node:util";
import { Redis } from "@upstash/redis";

const url = process.env.UPSTASH_REDIS_REST_URL;
const token = process.env.UPSTASH_REDIS_REST_TOKEN;
const prefix = process.env.KEY_PREFIX ?? "js:";
if (!url || !token) {
  console.error("UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set");
  process.exit(2);
}

const redis = new Redis({ url, token, enableAutoPipelining: true });
const key = (name) => `${prefix}${name}`;
let failures = 0;

async function check(name, run, expected) {
  let actual;
  try {
    actual = await run();
  } catch (error) {
    actual = { thrown: String(error?.message ?? error) };
  }
  const ok = isDeepStrictEqual(actual, expected);
  if (!ok) failures += 1;
  console.log(JSON.stringify({ check: name, ok, actual, expected }));
}

await check("set", () => redis.set(key("s"), "hello"), "OK");
await check("get", () => redis.get(key("s")), "hello");
await check("get missing", () => redis.get(key("missing")), null);
await check("set astral", () => redis.set(key("u"), "🫶 ok"), "OK");
await check("get astral", () => redis.get(key("u")), "🫶 ok");
await check("incr first", () => redis.incr(key("n")), 1);
await check("incr second", () => redis.incr(key("n")), 2);
await check("hset", () => redis.hset(key("h"), { a: "x", b: "y" }), 2);
await check("hgetall", () => redis.hgetall(key("h")), { a: "x", b: "y" });
await check("zadd", () => redis.zadd(key("z"), { score: 1.5, member: "m" }), 1);
await check("zscore", () => redis.zscore(key("z"), "m"), 1.5);
await check(
  "zrange withscores",
  () => redis.zrange(key("z"), 0, -1, { withScores: true }),
  ["m", 1.5],
);
await check("set object", () => redis.set(key("o"), { nested: [1, "two"] }), "OK");
await check("get object", () => redis.get(key("o")), { nested: [1, "two"] });
// The client words the error differently inside automatic pipelines, so
// only the server's text is compared.
await check(
  "command error",
  () =>
    redis.incr(key("s")).then(
      () => "no error",
      (error) => error.message.includes("ERR value is not an integer or out of range"),
    ),
  true,
);

// Calls made in the same tick go out as one /pipeline request.
await check(
  "auto pipelining",
  () =>
    Promise.all([
      redis.set(key("p1"), "one"),
      redis.get(key("p1")),
      redis.incr(key("p2")),
      redis.exists(key("p1"), key("nothing")),
    ]),
  ["OK", "one", 1, 1],
);

await check(
  "pipeline",
  () => {
    const pipeline = redis.pipeline();
    pipeline.set(key("q"), "queued");
    pipeline.get(key("q"));
    pipeline.incr(key("qn"));
    pipeline.hgetall(key("h"));
    return pipeline.exec();
  },
  ["OK", "queued", 1, { a: "x", b: "y" }],
);

await check(
  "multi exec",
  () => {
    const transaction = redis.multi();
    transaction.set(key("t"), "atomic");
    transaction.incr(key("tn"));
    transaction.incr(key("tn"));
    transaction.get(key("t"));
    return transaction.exec();
  },
  ["OK", 1, 2, "atomic"],
);

await check("read after transaction", () => redis.get(key("tn")), 2);
await check("ping", () => redis.ping(), "PONG");

console.log(JSON.stringify({ failures }));
process.exit(failures === 0 ? 0 : 1);
