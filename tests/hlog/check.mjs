// tests/hlog/check.mjs - reads a hornet .hlog with npm hdr-histogram-js's
// own HistogramLogReader, merges the intervals of each tag and prints, per
// tag, the number of intervals, the total count and p50/p90/p99/max.
//
//   node tests/hlog/check.mjs FILE.hlog
//   HDR_JS_DIR=/path/to/node_modules/.. node tests/hlog/check.mjs FILE.hlog
//
// Values are microseconds, as hornet records them (the log's histograms
// are in us; its Interval_Max column is in ms and is read here as us).
// Two figures per percentile: "hdr", hdr-histogram-js's getValueAtPercentile
// as it is, and "capped", min(hdr, the largest Interval_Max of the tag),
// which is hornet's rule (hist_percentile caps at the exact max). Lines
// "#[hornet-expect tag=T count=N p50=.. p90=.. p99=.. max=..]" (the
// unit test writes them) are compared with the capped figures; any
// mismatch exits 1. hdr-histogram-js is found next to this script, or in
// HDR_JS_DIR (a folder holding node_modules/hdr-histogram-js).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const base = process.env.HDR_JS_DIR
  ? join(process.env.HDR_JS_DIR, "noop.js")
  : import.meta.url;
let hdr;
try {
  hdr = createRequire(base)("hdr-histogram-js");
} catch {
  console.error("check: npm package hdr-histogram-js not found (npm install, or set HDR_JS_DIR)");
  process.exit(2);
}

const file = process.argv[2];
if (!file) {
  console.error("usage: node tests/hlog/check.mjs FILE.hlog");
  process.exit(2);
}
const text = readFileSync(file, "utf8");

// The exact max per tag, from the Interval_Max column (ms, 3 decimals).
const NO_TAG = "-";
const lineMax = new Map();
const expect = new Map();
for (const line of text.split(/\r\n|\r|\n/)) {
  const m = /^#\[hornet-expect (.*)\]$/.exec(line);
  if (m) {
    const kv = Object.fromEntries(m[1].split(" ").map((s) => s.split("=")));
    expect.set(kv.tag, kv);
    continue;
  }
  if (line.startsWith("#") || line.startsWith('"') || !line.includes(","))
    continue;
  const f = line.split(",");
  const tag = f[0].startsWith("Tag=") ? f.shift().slice(4) : NO_TAG;
  const us = Math.round(Number.parseFloat(f[2]) * 1000);
  lineMax.set(tag, Math.max(lineMax.get(tag) ?? 0, us));
}

// Every interval through the library's reader; 64-bit buckets (exact
// counts up to 2^53), merged per tag into one histogram of the same layout.
const reader = new hdr.HistogramLogReader(text, 64);
const merged = new Map();
const intervals = new Map();
for (let h; (h = reader.nextIntervalHistogram()) !== null; ) {
  const tag = h.tag && h.tag !== "NO TAG" ? h.tag : NO_TAG;
  if (!merged.has(tag)) {
    merged.set(
      tag,
      hdr.build({
        bitBucketSize: 64,
        lowestDiscernibleValue: 1,
        highestTrackableValue: 2 ** 32,
        numberOfSignificantValueDigits: 3,
      })
    );
  }
  merged.get(tag).add(h);
  intervals.set(tag, (intervals.get(tag) ?? 0) + 1);
}

let bad = 0;
for (const [tag, h] of merged) {
  const cap = lineMax.get(tag);
  const row = { tag, intervals: intervals.get(tag), count: h.totalCount };
  for (const p of [50, 90, 99]) {
    const v = h.getValueAtPercentile(p);
    row[`p${p}`] = { hdr: v, capped: Math.min(v, cap) };
  }
  row.max = { hdr: h.maxValue, capped: cap };
  console.log(JSON.stringify(row));
  const e = expect.get(tag);
  if (!e) continue;
  const got = {
    count: row.count,
    p50: row.p50.capped,
    p90: row.p90.capped,
    p99: row.p99.capped,
    max: row.max.capped,
  };
  for (const [k, v] of Object.entries(got)) {
    const ok = Number(e[k]) === v;
    if (!ok) bad++;
    console.log(`  ${tag} ${k}: hornet ${e[k]}, hdr-histogram-js ${v} ${ok ? "ok" : "MISMATCH"}`);
  }
}
if (expect.size && merged.size === 0) bad++;
console.log(bad ? `check: ${bad} mismatches` : "check: ok");
process.exit(bad ? 1 : 0);
