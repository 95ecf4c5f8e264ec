// Command-line flags in the style of Go's flag package (and so of Litestream):
// one or two dashes, `-config X` or `-config=X`, booleans as `-dry-run` or
// `-dry-run=false`, and -h/-help/--help for a command's usage. Unlike Go, flags may
// also follow positional arguments (`restore app.db -o out.db`); `--` ends the flags.
// Not thread-safe; used on the main thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace litesync {

class FlagSet {
 public:
  // `usage` is the text printed above the flag list: synopsis lines and a description.
  explicit FlagSet(std::string usage) : usage_(std::move(usage)) {}
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  // Registers a flag; `target` holds the default and must outlive the set.
  void String(std::string name, std::string* target, std::string value_name, std::string help);
  void Bool(std::string name, bool* target, std::string help);
  void Int(std::string name, int64_t* target, std::string value_name, std::string help);
  // A flag that may repeat; each value is appended to `target`.
  void StringList(std::string name, std::vector<std::string>* target, std::string value_name,
                  std::string help);

  // A flag Litestream's same command has and litesync does not: given, it is a
  // usage error saying `why` (what litesync does instead), not "not defined".
  // Not listed in Usage().
  void Foreign(std::string name, std::string why);

  enum class Result { kOk, kHelp, kError };
  // Parses `args` (the arguments after the command name). kError leaves the reason
  // in error(), e.g. "flag provided but not defined: -foo".
  Result Parse(const std::vector<std::string>& args);
  const std::string& error() const { return error_; }
  const std::vector<std::string>& args() const { return positional_; }  // non-flag arguments
  bool IsSet(std::string_view name) const;                              // given on the command line
  std::string Usage() const;  // usage text, then the flags and their help

  // Parse() with the usual outcome: -h prints Usage() to stdout (0); an error prints
  // "`program`: <error>" then Usage() to stderr (2); nullopt when the command goes on.
  std::optional<int> ParseOrExit(const std::vector<std::string>& args, std::string_view program);

 private:
  enum class Kind { kString, kBool, kInt, kStringList };
  struct Flag {
    std::string name;
    Kind kind;
    void* target;
    std::string value_name;
    std::string help;
    std::string default_text;
    bool set = false;
  };
  Flag* Find(std::string_view name);
  bool Assign(Flag& flag, std::string_view value);

  std::string usage_;
  std::vector<Flag> flags_;
  std::vector<std::pair<std::string, std::string>> foreign_;  // name, why
  std::vector<std::string> positional_;
  std::string error_;
};

}  // namespace litesync
