// The checked YAML map view, ${VAR} expansion and path helpers of the config parser.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "fmt/format.h"

#include "cmd/config_internal.h"

namespace litesync::config_internal {
namespace {

// Litestream keys litesync knowingly does not read, with what to do instead.
struct KeyHint {
  std::string_view key;
  std::string_view hint;
};
constexpr KeyHint kKeyHints[] = {
    {"replicate", "the replica of a database is `replica:` (or a `replicas:` list)"},
};

std::string KindOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "a scalar";
  }
}

bool IsNameStart(char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Expands one line; `line_no` for messages.
absl::Status ExpandLine(std::string_view line, int line_no, const std::string& file,
                        std::string* out, std::vector<Substitution>* subs) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    char prev = i == 0 ? ' ' : line[i - 1];
    if (quote == 0 && c == '#' && (prev == ' ' || prev == '\t' || i == 0)) {
      out->append(line.substr(i));  // a comment: kept verbatim
      return absl::OkStatus();
    }
    if (quote == 0 && (c == '"' || c == '\'') &&
        (i == 0 || prev == ' ' || prev == '\t' || prev == ':' || prev == '[' || prev == '{' ||
         prev == ',' || prev == '-')) {
      quote = c;
    } else if (quote != 0 && c == quote && !(quote == '"' && prev == '\\')) {
      quote = 0;
    }
    if (c != '$' || i + 1 >= line.size()) {
      out->push_back(c);
      continue;
    }
    char next = line[i + 1];
    if (next == '$') {
      out->push_back('$');
      ++i;
      continue;
    }
    std::string name;
    size_t end = i;  // index of the last character of the reference
    if (next == '{') {
      size_t close = line.find('}', i + 2);
      if (close == std::string_view::npos) {
        return ConfigError(file, line_no, "", "unterminated ${ (write $$ for a literal $)");
      }
      name = std::string(line.substr(i + 2, close - i - 2));
      end = close;
      bool valid = !name.empty() && IsNameStart(name[0]);
      for (char n : name) valid = valid && IsNameChar(n);
      if (!valid) {
        return ConfigError(file, line_no, "",
                           fmt::format("${{{}}} is not a valid variable name", name));
      }
    } else if (IsNameStart(next)) {
      end = i + 1;
      while (end + 1 < line.size() && IsNameChar(line[end + 1])) ++end;
      name = std::string(line.substr(i + 1, end - i));
    } else {
      out->push_back(c);
      continue;
    }
    const char* value = std::getenv(name.c_str());
    std::string pid;  // Litestream sets $PID to the process id while it reads the config
    if (value == nullptr && name == "PID") {
      pid = std::to_string(::getpid());
      value = pid.c_str();
    }
    if (value == nullptr) {
      return ConfigError(file, line_no, "",
                         fmt::format("environment variable {} is not set (it is used as ${{{}}}; "
                                     "write $$ for a literal $)",
                                     name, name));
    }
    out->append(value);
    if (subs != nullptr) {
      subs->push_back(Substitution{line_no, std::string(line.substr(i, end - i + 1)), value});
    }
    i = end;
  }
  return absl::OkStatus();
}

}  // namespace

int LineOf(const YAML::Node& node, int fallback) {
  // A null node's mark is where the parser noticed it: the next token, often a line later.
  if (!node.IsDefined() || node.IsNull()) return fallback;
  YAML::Mark m = node.Mark();
  return m.is_null() || m.line < 0 ? fallback : m.line + 1;
}

absl::Status ConfigError(const std::string& file, int line, std::string_view key,
                         std::string_view msg) {
  if (key.empty()) return absl::InvalidArgumentError(fmt::format("{}:{}: {}", file, line, msg));
  return absl::InvalidArgumentError(fmt::format("{}:{}: {}: {}", file, line, key, msg));
}

absl::StatusOr<std::string> ExpandEnv(std::string_view text, const std::string& file,
                                      std::vector<Substitution>* subs) {
  std::string out;
  out.reserve(text.size());
  int line_no = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (absl::Status s = ExpandLine(line, line_no, file, &out, subs); !s.ok()) return s;
    if (nl == std::string_view::npos) break;
    out.push_back('\n');
    start = nl + 1;
    ++line_no;
  }
  return out;
}

absl::Status AsWritten(const absl::Status& error, const std::string& file,
                       const std::vector<Substitution>& subs) {
  if (subs.empty() || error.ok()) return error;
  std::string msg(error.message());
  // The line the message cites: "<file>:<line>: ...".
  int cited = 0;
  std::string prefix = file + ":";
  if (msg.compare(0, prefix.size(), prefix) == 0) {
    size_t end = msg.find(':', prefix.size());
    if (end != std::string::npos &&
        !absl::SimpleAtoi(msg.substr(prefix.size(), end - prefix.size()), &cited)) {
      cited = 0;
    }
  }
  std::vector<const Substitution*> used;
  for (const Substitution& s : subs) {
    if (!s.value.empty() && (s.line == cited || s.value.size() >= 8)) used.push_back(&s);
  }
  // Longest first, in one pass: a value that contains another is replaced whole,
  // and a reference put back is never searched again.
  std::sort(used.begin(), used.end(), [](const Substitution* a, const Substitution* b) {
    return a->value.size() > b->value.size();
  });
  std::string out;
  for (size_t i = 0; i < msg.size();) {
    const Substitution* hit = nullptr;
    for (const Substitution* s : used) {
      if (msg.compare(i, s->value.size(), s->value) == 0) {
        hit = s;
        break;
      }
    }
    if (hit == nullptr) {
      out.push_back(msg[i++]);
      continue;
    }
    out += hit->reference;
    i += hit->value.size();
  }
  return absl::Status(error.code(), out);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

absl::StatusOr<MapView> MapView::Make(const std::string& file, const YAML::Node& node,
                                      std::string path, int parent_line,
                                      std::span<const std::string_view> known) {
  MapView view(file, std::move(path), config_internal::LineOf(node, parent_line));
  if (!node.IsDefined() || node.IsNull()) return view;
  if (!node.IsMap()) {
    return ConfigError(file, view.line_, view.path_,
                       fmt::format("must be a map of keys (got {})", KindOf(node)));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    int line = config_internal::LineOf(it->first, view.line_);
    if (!it->first.IsScalar()) {
      return ConfigError(file, line, view.path_, "keys must be plain names");
    }
    const std::string& name = it->first.Scalar();
    if (view.entries_.count(name) > 0) {
      return ConfigError(
          file, line, view.KeyPath(name),
          fmt::format("duplicate key (first given at line {})", view.entries_[name].line));
    }
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == name;
    if (!ok) {
      std::string msg = fmt::format("unknown key \"{}\"", name);
      std::string_view best;
      size_t best_d = 0;
      for (std::string_view k : known) {
        size_t d = EditDistance(name, k);
        if (best.empty() || d < best_d) {
          best = k;
          best_d = d;
        }
      }
      std::string known_list;
      for (std::string_view k : known)
        known_list += fmt::format("{}{}", known_list.empty() ? "" : ", ", k);
      bool hinted = false;
      for (const KeyHint& h : kKeyHints) {
        if (h.key == name) {
          msg += fmt::format(": {}", h.hint);
          hinted = true;
        }
      }
      if (!hinted && !best.empty() && best_d <= std::max<size_t>(2, name.size() / 3)) {
        msg += fmt::format(" (did you mean \"{}\"?)", best);
      } else if (!hinted) {
        msg += fmt::format("; known keys here: {}", known_list);
      }
      return ConfigError(file, line, view.path_, msg);
    }
    view.entries_[name] = Entry{it->first, it->second, line};
  }
  return view;
}

std::vector<std::string> MapView::Keys() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

YAML::Node MapView::Get(std::string_view name) const {
  auto it = entries_.find(std::string(name));
  return it == entries_.end() ? YAML::Node(YAML::NodeType::Undefined) : it->second.value;
}

int MapView::LineOf(std::string_view name) const {
  auto it = entries_.find(std::string(name));
  if (it == entries_.end()) return line_;
  return config_internal::LineOf(it->second.value, it->second.line);
}

std::string MapView::KeyPath(std::string_view name) const {
  if (path_.empty()) return std::string(name);
  if (name.empty()) return path_;
  return fmt::format("{}.{}", path_, name);
}

absl::Status MapView::Error(std::string_view name, std::string_view msg) const {
  if (name.empty()) return ConfigError(file_, line_, path_, msg);
  return ConfigError(file_, LineOf(name), KeyPath(name), msg);
}

absl::StatusOr<std::string> MapView::Scalar(std::string_view name) const {
  YAML::Node n = Get(name);
  if (n.IsNull()) return Error(name, "needs a value");
  if (!n.IsScalar()) return Error(name, fmt::format("must be a single value (got {})", KindOf(n)));
  return n.Scalar();
}

absl::Status MapView::ReadString(std::string_view name, std::string* out) const {
  if (!Has(name)) return absl::OkStatus();
  absl::StatusOr<std::string> v = Scalar(name);
  if (!v.ok()) return v.status();
  *out = *std::move(v);
  return absl::OkStatus();
}

absl::Status MapView::ReadBool(std::string_view name, bool* out) const {
  if (!Has(name)) return absl::OkStatus();
  absl::StatusOr<std::string> v = Scalar(name);
  if (!v.ok()) return v.status();
  std::string s = absl::AsciiStrToLower(*v);
  if (s == "true" || s == "yes" || s == "on") {
    *out = true;
  } else if (s == "false" || s == "no" || s == "off") {
    *out = false;
  } else {
    return Error(name, fmt::format("must be true or false (got \"{}\")", *v));
  }
  return absl::OkStatus();
}

absl::Status MapView::ReadInt(std::string_view name, int64_t min, int64_t* out) const {
  if (!Has(name)) return absl::OkStatus();
  absl::StatusOr<std::string> v = Scalar(name);
  if (!v.ok()) return v.status();
  int64_t n = 0;
  if (!absl::SimpleAtoi(*v, &n)) {
    return Error(name, fmt::format("must be a whole number (got \"{}\")", *v));
  }
  if (n < min) return Error(name, fmt::format("must be at least {} (got {})", min, n));
  *out = n;
  return absl::OkStatus();
}

absl::Status MapView::ReadDuration(std::string_view name, DurationRule rule,
                                   absl::Duration* out) const {
  if (!Has(name)) return absl::OkStatus();
  absl::StatusOr<std::string> v = Scalar(name);
  if (!v.ok()) return v.status();
  absl::Duration d;
  if (!absl::ParseDuration(*v, &d) || d == absl::InfiniteDuration() ||
      d == -absl::InfiniteDuration()) {
    return Error(name,
                 fmt::format("must be a duration like 1s, 500ms, 5m or 1h30m (got \"{}\")", *v));
  }
  if (d < absl::ZeroDuration()) {
    return Error(name, fmt::format("must not be negative (got {})", *v));
  }
  if (rule == DurationRule::kPositive && d == absl::ZeroDuration()) {
    return Error(name, fmt::format("must be greater than 0 (got {})", *v));
  }
  *out = d;
  return absl::OkStatus();
}

absl::Status MapView::ReadStringList(std::string_view name, std::vector<std::string>* out) const {
  if (!Has(name)) return absl::OkStatus();
  YAML::Node n = Get(name);
  out->clear();
  if (n.IsScalar()) {
    out->push_back(n.Scalar());
    return absl::OkStatus();
  }
  if (!n.IsSequence()) return Error(name, fmt::format("must be a list (got {})", KindOf(n)));
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      return ConfigError(file_, config_internal::LineOf(n[i], LineOf(name)),
                         fmt::format("{}[{}]", KeyPath(name), i),
                         fmt::format("must be a single value (got {})", KindOf(n[i])));
    }
    out->push_back(n[i].Scalar());
  }
  return absl::OkStatus();
}

}  // namespace litesync::config_internal
