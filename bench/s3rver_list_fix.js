// Preloaded into s3rver by the bench scripts (NODE_OPTIONS=--require): s3rver
// 3.7.1's ListObjects with a delimiter stops walking its directory tree one level
// below the prefix, so it returns no CommonPrefixes for keys nested deeper (checked
// on this machine). Litestream v0.3.13 lists its generations that way (prefix
// .../generations/, delimiter /, objects two levels down) and finds no backup to
// restore. This replaces the walk's pruning filter with one that prunes only the
// directories no key under the listing's prefix can be in; keys are then filtered
// by prefix, start-after and delimiter as before. So a listing costs the directories
// on the way to its prefix and the objects under it, not the whole bucket (which an
// unpruned walk costs: ~1.2 s per LIST with 1,000 databases' replicas in the bucket).
// The walk reads entry types from readdir instead of a stat per entry. Objects are
// stored and served exactly as before. S3RVER_LIB is s3rver's lib/ directory.
'use strict';
const fs = require('fs');
const path = require('path');
const utils = require(path.join(process.env.S3RVER_LIB, 'utils.js'));

// The directory path every key of the current listing starts with, set while
// listObjects creates its walk (synchronously, before its first await).
let reach = null;

function* walkWithin(dir, within) {
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const entryPath = path.posix.join(dir, entry.name);
    if (!entry.isDirectory()) {
      yield entryPath;
    } else if (within === null || entryPath.startsWith(within) ||
               within.startsWith(entryPath + '/')) {
      yield* walkWithin(entryPath, within);
    }
  }
}
utils.walk = function walkListing(dir) {
  return walkWithin(dir, reach);
};

// Required after the walk is replaced: filesystem.js binds `walk` when loaded.
const FilesystemStore = require(path.join(process.env.S3RVER_LIB, 'stores', 'filesystem.js'));
const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = function listObjectsWithin(bucket, options = {}) {
  const prefix = FilesystemStore.encodeKeyPath(options.prefix || '');
  reach = [this.getBucketPath(bucket), prefix].join('/');
  try {
    return listObjects.call(this, bucket, options);
  } finally {
    reach = null;
  }
};
