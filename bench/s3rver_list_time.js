// How long s3rver 3.7.1's filesystem store takes to list one database's prefix
// as its bucket grows, with and without a preload (bench/s3rver_list_fix.js):
//
//   node bench/s3rver_list_time.js tests/node_modules/s3rver/lib orig|FIX.js N [OBJECTS_PER_DB]
//
// Lays out N litesync-like replicas (mNNNN/lease, mNNNN/<lineage>/<level>/*.ltx;
// each object as s3rver stores it: object, .md5, metadata) in a mktemp -d
// directory, lists m0500/ (or m0000/ when N <= 500) three ways 50 times (the
// replica root, one level, the root after a start-after) straight through the
// store (no HTTP), prints the mean, and removes the directory.
'use strict';
const fs = require('fs'), path = require('path'), os = require('os');
const [libArg, variant, nS, perS = '6'] = process.argv.slice(2);
const lib = path.resolve(libArg);
const N = +nS, PER = +perS;
process.env.S3RVER_LIB = lib;
if (variant !== 'orig') require(path.resolve(variant));
const Store = require(path.join(lib, 'stores/filesystem.js'));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-'));
const b = path.join(root, 'bench');
for (let i = 0; i < N; i++) {
  const db = 'm' + String(i).padStart(4, '0');
  const keys = ['lease'];
  for (let j = 0; j < PER - 1; j++) {
    const lvl = [0, 9, 1, 0, 0][j % 5];
    keys.push(`0000000000000001/${lvl}/${String(j).padStart(16, '0')}-${String(j).padStart(16, '0')}-0000018c00000000.ltx`);
  }
  for (const k of keys) {
    const p = path.join(b, db, k);
    fs.mkdirSync(path.dirname(p), {recursive: true});
    const base = path.join(path.dirname(p), path.basename(p));
    fs.writeFileSync(base + '._S3rver_object', 'x'.repeat(100));
    fs.writeFileSync(base + '._S3rver_object.md5', '0'.repeat(32));
    fs.writeFileSync(base + '._S3rver_metadata.json',
                     JSON.stringify({'content-type': 'application/octet-stream', 'last-modified': new Date().toUTCString()}));
  }
}
const store = new Store(root);
(async () => {
  const db = N > 500 ? 'm0500' : 'm0000';
  const q = [{prefix: `${db}/`}, {prefix: `${db}/0000000000000001/0/`},
             {prefix: `${db}/`, startAfter: `${db}/00000000000000010`}];
  let got = [];
  for (const o of q) got.push((await store.listObjects('bench', o)).objects.length);
  const R = 50, t = process.hrtime.bigint();
  for (let r = 0; r < R; r++) await store.listObjects('bench', q[r % 3]);
  const ms = Number(process.hrtime.bigint() - t) / 1e6 / R;
  console.log(`${variant.split('/').pop()} N=${N} objects/db=${PER} files=${N * PER * 3} ms/LIST=${ms.toFixed(2)} found=${got}`);
  fs.rmSync(root, {recursive: true});
})();
