#!/usr/bin/python3
"""Litestream v0.5's own writer for tests: its VFS (litestream-vfs.so, npm
litestream-vfs-linux-amd64) in write mode writes LTX files to the replica named
by LITESTREAM_REPLICA_URL (set with LITESTREAM_WRITE_ENABLED=true before this
process starts). Needs Debian's /usr/bin/python3, whose sqlite3 module can load
extensions.

  litestream_vfs_writer.py write EXT DB ROWS SEED WAIT_S
      inserts ROWS rows (one transaction each) through the VFS, prints
      "content <sha256 of the dump>", then stays WAIT_S seconds so the VFS syncs.
  litestream_vfs_writer.py hash DB
      prints "content <sha256 of the dump>" of a plain database file.

One transaction and one process per sync: Litestream 0.5.17's VFS answers
"database disk image is malformed" to a connection that reads or writes after the
VFS synced under it, while a new process continues from the replica. It never
syncs inside a transaction, so the rows and the dump of what they make happen in
one (the dump sees exactly what the COMMIT makes durable).
"""
import hashlib
import random
import sqlite3
import sys
import time


def content(conn):
    dump = "\n".join(conn.iterdump())
    return hashlib.sha256(dump.encode()).hexdigest()


def write(ext, db, rows, seed, wait_s):
    loader = sqlite3.connect(":memory:")
    loader.enable_load_extension(True)
    loader.load_extension(ext)
    conn = sqlite3.connect(f"file:{db}?vfs=litestream", uri=True, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, seed INT, v TEXT, b BLOB)")
    rng = random.Random(seed)
    for _ in range(rows):
        text = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(10, 200)))
        blob = rng.randbytes(rng.randint(0, 3000))
        conn.execute("INSERT INTO t(seed, v, b) VALUES (?, ?, ?)", (seed, text, blob))
    hash_ = content(conn)
    conn.execute("COMMIT")
    print("content", hash_, flush=True)
    time.sleep(wait_s)
    conn.close()


def main():
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1] == "hash":
        conn = sqlite3.connect(f"file:{sys.argv[2]}?mode=ro", uri=True)
        print("content", content(conn), flush=True)
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")


if __name__ == "__main__":
    main()
