#include "base/repeat_log.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"

namespace litesync {
namespace {

// The message with each run of digits as one '#'.
std::string KeyOf(const absl::Status& s) {
  std::string key = std::to_string(static_cast<int>(s.code())) + ":";
  bool in_digits = false;
  for (char c : s.message()) {
    bool digit = absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (!digit) key.push_back(c);
    if (digit && !in_digits) key.push_back('#');
    in_digits = digit;
  }
  return key;
}

// Tenths of a second under 10 s, whole seconds above: "4.5s", "35s", "5m".
absl::Duration Rounded(absl::Duration d) {
  return absl::Trunc(d, d < absl::Seconds(10) ? absl::Milliseconds(100) : absl::Seconds(1));
}

std::vector<LogField> With(std::initializer_list<LogField> where,
                           std::initializer_list<LogField> more) {
  std::vector<LogField> fields(where);
  fields.insert(fields.end(), more);
  return fields;
}

}  // namespace

void RepeatedErrorLog::Flush(absl::Time now, std::initializer_list<LogField> where) {
  if (unlogged_ == 0) return;
  Log(level_, failed_,
      With(where,
           {{"err", last_err_}, {"repeated", unlogged_}, {"in_last", Rounded(now - last_line_)}}));
  unlogged_ = 0;
  last_line_ = now;
  step_ = std::min(step_ * 2, kMaxStep);
}

void RepeatedErrorLog::Failed(const absl::Status& err, absl::Time now,
                              std::initializer_list<LogField> where) {
  std::string key = KeyOf(err);
  if (attempts_ == 0) first_failed_ = now;
  ++attempts_;
  if (attempts_ > 1 && key == last_key_) {
    last_err_ = std::string(err.message());
    ++unlogged_;
    if (now - last_line_ >= step_) Flush(now, where);
    return;
  }
  Flush(now, where);  // what the previous error did since its last line
  last_key_ = std::move(key);
  last_err_ = std::string(err.message());
  Log(level_, failed_, With(where, {{"err", last_err_}}));
  last_line_ = now;
  step_ = kFirstStep;
}

void RepeatedErrorLog::Succeeded(absl::Time now, std::initializer_list<LogField> where) {
  if (attempts_ == 0) return;
  Log(LogLevel::kInfo, recovered_,
      With(where, {{"failed_attempts", attempts_}, {"failed_for", Rounded(now - first_failed_)}}));
  attempts_ = 0;
  unlogged_ = 0;
  last_key_.clear();
  last_err_.clear();
  step_ = kFirstStep;
}

}  // namespace litesync
