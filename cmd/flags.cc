#include "cmd/flags.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "fmt/format.h"

namespace litesync {
namespace {

bool ParseBool(std::string_view v, bool* out) {  // as Go's strconv.ParseBool
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") {
    *out = true;
  } else if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

}  // namespace

void FlagSet::String(std::string name, std::string* target, std::string value_name,
                     std::string help) {
  std::string def = target->empty() ? "" : fmt::format("\"{}\"", *target);
  flags_.push_back({std::move(name), Kind::kString, target, std::move(value_name), std::move(help),
                    std::move(def)});
}

void FlagSet::Bool(std::string name, bool* target, std::string help) {
  flags_.push_back(
      {std::move(name), Kind::kBool, target, "", std::move(help), *target ? "true" : ""});
}

void FlagSet::Int(std::string name, int64_t* target, std::string value_name, std::string help) {
  flags_.push_back({std::move(name), Kind::kInt, target, std::move(value_name), std::move(help),
                    fmt::format("{}", *target)});
}

void FlagSet::StringList(std::string name, std::vector<std::string>* target, std::string value_name,
                         std::string help) {
  flags_.push_back({std::move(name), Kind::kStringList, target, std::move(value_name),
                    std::move(help) + " (repeatable)", ""});
}

FlagSet::Flag* FlagSet::Find(std::string_view name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::IsSet(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

bool FlagSet::Assign(Flag& flag, std::string_view value) {
  switch (flag.kind) {
    case Kind::kString:
      *static_cast<std::string*>(flag.target) = std::string(value);
      break;
    case Kind::kStringList:
      static_cast<std::vector<std::string>*>(flag.target)->emplace_back(value);
      break;
    case Kind::kBool:
      if (!ParseBool(value, static_cast<bool*>(flag.target))) {
        error_ = fmt::format("invalid boolean value \"{}\" for flag -{} (use -{} or -{}=false)",
                             value, flag.name, flag.name, flag.name);
        return false;
      }
      break;
    case Kind::kInt:
      if (!absl::SimpleAtoi(absl::string_view(value.data(), value.size()),
                            static_cast<int64_t*>(flag.target))) {
        error_ = fmt::format("invalid value \"{}\" for flag -{}: must be a whole number", value,
                             flag.name);
        return false;
      }
      break;
  }
  flag.set = true;
  return true;
}

void FlagSet::Foreign(std::string name, std::string why) {
  foreign_.emplace_back(std::move(name), std::move(why));
}

FlagSet::Result FlagSet::Parse(const std::vector<std::string>& args) {
  positional_.clear();
  error_.clear();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional_.insert(positional_.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::string_view body(arg);
    body.remove_prefix(body.size() > 2 && body[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      error_ = fmt::format("bad flag syntax: {}", arg);
      return Result::kError;
    }
    size_t eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    Flag* flag = Find(name);
    if (flag == nullptr) {
      if (name == "h" || name == "help") return Result::kHelp;
      for (const auto& [foreign, why] : foreign_) {
        if (foreign == name) {
          error_ = fmt::format("-{}: {}", name, why);
          return Result::kError;
        }
      }
      error_ = fmt::format("flag provided but not defined: -{}", name);
      return Result::kError;
    }
    if (eq != std::string_view::npos) {
      if (!Assign(*flag, body.substr(eq + 1))) return Result::kError;
    } else if (flag->kind == Kind::kBool) {
      if (!Assign(*flag, "true")) return Result::kError;
    } else if (i + 1 < args.size()) {
      if (!Assign(*flag, args[++i])) return Result::kError;
    } else {
      error_ = fmt::format("flag needs an argument: -{}", name);
      return Result::kError;
    }
  }
  return Result::kOk;
}

std::string FlagSet::Usage() const {
  std::string out = usage_;
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  if (flags_.empty()) return out;
  out += "\nFlags:\n";
  for (const Flag& f : flags_) {
    out += fmt::format("  -{}{}\n", f.name, f.value_name.empty() ? "" : " " + f.value_name);
    out += fmt::format("        {}", f.help);
    if (!f.default_text.empty()) out += fmt::format(" (default {})", f.default_text);
    out += "\n";
  }
  return out;
}

std::optional<int> FlagSet::ParseOrExit(const std::vector<std::string>& args,
                                        std::string_view program) {
  switch (Parse(args)) {
    case Result::kOk:
      return std::nullopt;
    case Result::kHelp:
      std::fputs(Usage().c_str(), stdout);
      return 0;
    case Result::kError:
      break;
  }
  std::fprintf(stderr, "%.*s: %s\n\n%s", static_cast<int>(program.size()), program.data(),
               error_.c_str(), Usage().c_str());
  return 2;
}

}  // namespace litesync
