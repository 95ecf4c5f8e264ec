// A minimal JSON value, writer and parser for the status schema (/status and
// `litesync status -json`), so litesync needs no JSON dependency. Objects keep
// their insertion order; numbers keep their text, so 64-bit TXIDs round-trip.
// Values are plain data: not thread-safe, copy freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace litesync {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;  // null
  static Json Bool(bool b);
  static Json Number(double d);  // finite; NaN and infinities become null
  static Json Integer(int64_t i);
  static Json Unsigned(uint64_t u);
  static Json String(std::string s);
  static Json Array();
  static Json Object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }

  // Builders: Push on arrays, Set on objects (replaces an existing key).
  Json& Push(Json v);
  Json& Set(std::string key, Json v);

  // Accessors; nullopt (or null/empty) on a type mismatch.
  std::optional<bool> AsBool() const;
  std::optional<double> AsDouble() const;
  std::optional<uint64_t> AsUint64() const;  // non-negative integers only
  std::optional<int64_t> AsInt64() const;    // integers only
  std::optional<std::string> AsString() const;
  const std::vector<Json>& items() const { return items_; }
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }
  // The member named `key`, or nullptr.
  const Json* Find(std::string_view key) const;

  // Serializes with two-space indentation (indent >= 0) or on one line (indent < 0).
  std::string Dump(int indent = 2) const;

 private:
  friend class JsonParser;
  void DumpTo(std::string* out, int indent, int depth) const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;  // number text or string value
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Parses one JSON document (RFC 8259); InvalidArgument with the byte offset on
// malformed input. Nesting is limited to 64 levels.
absl::StatusOr<Json> ParseJson(std::string_view text);

// `s` as a quoted JSON string: quote, backslash and control characters escaped.
std::string JsonQuote(std::string_view s);

}  // namespace litesync
