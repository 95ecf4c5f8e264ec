#include "cmd/status_json.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "fmt/format.h"

namespace litesync {

Json Json::Bool(bool b) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = b;
  return j;
}

Json Json::Number(double d) {
  if (!std::isfinite(d)) return Json();
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = fmt::format("{}", d);  // shortest text that reads back the same double
  return j;
}

Json Json::Integer(int64_t i) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = fmt::format("{}", i);
  return j;
}

Json Json::Unsigned(uint64_t u) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = fmt::format("{}", u);
  return j;
}

Json Json::String(std::string s) {
  Json j;
  j.type_ = Type::kString;
  j.text_ = std::move(s);
  return j;
}

Json Json::Array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}

Json Json::Object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

Json& Json::Push(Json v) {
  items_.push_back(std::move(v));
  return items_.back();
}

Json& Json::Set(std::string key, Json v) {
  for (auto& [k, existing] : members_) {
    if (k == key) {
      existing = std::move(v);
      return existing;
    }
  }
  members_.emplace_back(std::move(key), std::move(v));
  return members_.back().second;
}

std::optional<bool> Json::AsBool() const {
  if (type_ != Type::kBool) return std::nullopt;
  return bool_;
}

std::optional<double> Json::AsDouble() const {
  if (type_ != Type::kNumber) return std::nullopt;
  return std::strtod(text_.c_str(), nullptr);
}

std::optional<uint64_t> Json::AsUint64() const {
  if (type_ != Type::kNumber) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> Json::AsInt64() const {
  if (type_ != Type::kNumber) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return v;
}

std::optional<std::string> Json::AsString() const {
  if (type_ != Type::kString) return std::nullopt;
  return text_;
}

const Json* Json::Find(std::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string Json::Dump(int indent) const {
  std::string out;
  DumpTo(&out, indent, 0);
  return out;
}

void Json::DumpTo(std::string* out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent < 0) return;
    *out += '\n';
    out->append(static_cast<size_t>(indent * d), ' ');
  };
  switch (type_) {
    case Type::kNull:
      *out += "null";
      return;
    case Type::kBool:
      *out += bool_ ? "true" : "false";
      return;
    case Type::kNumber:
      *out += text_;
      return;
    case Type::kString:
      *out += JsonQuote(text_);
      return;
    case Type::kArray:
      if (items_.empty()) {
        *out += "[]";
        return;
      }
      *out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) *out += ',';
        newline(depth + 1);
        items_[i].DumpTo(out, indent, depth + 1);
      }
      newline(depth);
      *out += ']';
      return;
    case Type::kObject:
      if (members_.empty()) {
        *out += "{}";
        return;
      }
      *out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) *out += ',';
        newline(depth + 1);
        *out += JsonQuote(members_[i].first);
        *out += indent < 0 ? ":" : ": ";
        members_[i].second.DumpTo(out, indent, depth + 1);
      }
      newline(depth);
      *out += '}';
      return;
  }
}

// Recursive descent over the RFC 8259 grammar.
class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  absl::StatusOr<Json> ParseDocument() {
    Json v;
    if (!ParseValue(&v, 0)) return Error();
    SkipSpace();
    if (pos_ != text_.size()) {
      error_ = "trailing characters";
      return Error();
    }
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  absl::Status Error() const {
    return absl::InvalidArgumentError(fmt::format("json: {} at offset {}", error_, pos_));
  }

  bool Fail(const char* what) {
    error_ = what;
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Json* out, int depth) {
    if (depth > kMaxDepth) return Fail("nesting too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Fail("unexpected end of input");
    char c = text_[pos_];
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '"') {
      out->type_ = Json::Type::kString;
      return ParseString(&out->text_);
    }
    if (Consume("true")) {
      *out = Json::Bool(true);
      return true;
    }
    if (Consume("false")) {
      *out = Json::Bool(false);
      return true;
    }
    if (Consume("null")) {
      *out = Json();
      return true;
    }
    return ParseNumber(out);
  }

  bool ParseNumber(Json* out) {
    size_t start = pos_;
    auto digits = [&] {
      size_t s = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ > s;
    };
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return Fail("invalid value");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Fail("invalid number");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) return Fail("invalid number");
    }
    out->type_ = Json::Type::kNumber;
    out->text_ = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  bool ParseHex4(uint32_t* out) {
    if (pos_ + 4 > text_.size()) return Fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return Fail("invalid \\u escape");
    }
    *out = v;
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xc0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xe0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      *out += static_cast<char>(0xf0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool ParseEscape(std::string* out) {
    if (pos_ >= text_.size()) return Fail("unterminated string");
    char e = text_[pos_++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        *out += e;
        return true;
      case 'b':
        *out += '\b';
        return true;
      case 'f':
        *out += '\f';
        return true;
      case 'n':
        *out += '\n';
        return true;
      case 'r':
        *out += '\r';
        return true;
      case 't':
        *out += '\t';
        return true;
      case 'u': {
        uint32_t cp = 0;
        if (!ParseHex4(&cp)) return false;
        if (cp >= 0xd800 && cp < 0xdc00) {  // a high surrogate needs its low half
          uint32_t lo = 0;
          if (!Consume("\\u") || !ParseHex4(&lo) || lo < 0xdc00 || lo >= 0xe000) {
            return Fail("unpaired surrogate");
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          return Fail("unpaired surrogate");
        }
        AppendUtf8(out, cp);
        return true;
      }
      default:
        return Fail("invalid escape");
    }
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (!ParseEscape(out)) return false;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return Fail("control character in string");
      } else {
        *out += c;
      }
    }
    return Fail("unterminated string");
  }

  bool ParseArray(Json* out, int depth) {
    ++pos_;
    *out = Json::Array();
    SkipSpace();
    if (Consume("]")) return true;
    while (true) {
      Json item;
      if (!ParseValue(&item, depth + 1)) return false;
      out->items_.push_back(std::move(item));
      SkipSpace();
      if (Consume(",")) continue;
      if (Consume("]")) return true;
      return Fail("expected ',' or ']'");
    }
  }

  bool ParseObject(Json* out, int depth) {
    ++pos_;
    *out = Json::Object();
    SkipSpace();
    if (Consume("}")) return true;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a member name");
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (!Consume(":")) return Fail("expected ':'");
      Json value;
      if (!ParseValue(&value, depth + 1)) return false;
      out->members_.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (Consume(",")) continue;
      if (Consume("}")) return true;
      return Fail("expected ',' or '}'");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  const char* error_ = "invalid json";
};

absl::StatusOr<Json> ParseJson(std::string_view text) { return JsonParser(text).ParseDocument(); }

}  // namespace litesync
