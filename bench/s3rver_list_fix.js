// Preloaded into s3rver by bench/s3.sh (NODE_OPTIONS=--require): s3rver 3.7.1's
// ListObjects with a delimiter stops walking its directory tree one level below
// the prefix, so it returns no CommonPrefixes for keys nested deeper (see
// checked on this machine). Litestream v0.3.13 lists its generations that way
// (prefix .../generations/, delimiter /, objects two levels down) and finds no
// backup to restore. This drops the walk's pruning filter: every listing walks the
// whole bucket and filters keys by prefix, start-after and delimiter as before,
// which is correct and, for the bench's small bucket, cheap. Objects are stored
// and served exactly as before. S3RVER_LIB is s3rver's lib/ directory.
'use strict';
const path = require('path');
const utils = require(path.join(process.env.S3RVER_LIB, 'utils.js'));
const walk = utils.walk;
utils.walk = function walkEverything(dir) {
  return walk(dir);
};
