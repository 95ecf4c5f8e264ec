// One log line per step of a failure that keeps repeating, not one per attempt
// (a replica answering 403 for an hour, an unreachable one during shutdown):
//
//   level=ERROR msg="sync failed" db=/data/app.db replica=s3://bkt/app err="...: HTTP 403 ..."
//   level=ERROR msg="sync failed" db=/data/app.db replica=s3://bkt/app err="..." repeated=7
//   in_last=5s level=INFO msg="sync recovered" db=/data/app.db replica=s3://bkt/app
//   failed_attempts=31 failed_for=2m5s
//
// The first failure, and a failure whose message differs from the last one
// (numbers aside: a timeout's milliseconds or a port do not make a new error),
// are logged at once, after a line with the count of unlogged repeats of the
// one before, if any. The same failure again is counted, and logged with its
// count once a step has passed since the last line; the step doubles with each
// line, from 5 s up to 5 min. The first success after a logged failure logs the
// recovery line, and the steps start over.
// Not thread-safe: one owner (a watcher or one of its replicas) at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/log.h"

namespace litesync {

class RepeatedErrorLog {
 public:
  static constexpr absl::Duration kFirstStep = absl::Seconds(5);
  static constexpr absl::Duration kMaxStep = absl::Minutes(5);

  // `failed` and `recovered` are the constant messages of the two kinds of line
  // (string literals: they are kept as views).
  RepeatedErrorLog(LogLevel level, std::string_view failed, std::string_view recovered)
      : level_(level), failed_(failed), recovered_(recovered) {}

  // One failed attempt at `now`; `where` are the fields naming what failed (db,
  // replica), `err` is added after them.
  void Failed(const absl::Status& err, absl::Time now, std::initializer_list<LogField> where);
  // One successful attempt; logs the recovery when a failure was logged.
  void Succeeded(absl::Time now, std::initializer_list<LogField> where);

  // Failed attempts since the last success.
  uint64_t attempts() const { return attempts_; }

 private:
  void Flush(absl::Time now, std::initializer_list<LogField> where);

  LogLevel level_;
  std::string_view failed_;
  std::string_view recovered_;
  uint64_t attempts_ = 0;    // failed attempts since the last success
  absl::Time first_failed_;  // the first of them
  std::string last_err_;     // the last failure's message
  std::string last_key_;     // ...with its numbers blanked, for "the same failure"
  uint64_t unlogged_ = 0;    // repeats of it since its last line
  absl::Time last_line_;
  absl::Duration step_ = kFirstStep;
};

}  // namespace litesync
