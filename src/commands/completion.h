// Shell completion for mex (bash, zsh, fish), generated from the command line's own definition
// (main.cc gives it as a CliSpec), so that a new command or option completes without a
// hand-written script to keep in step.
#pragma once

#include <string>
#include <vector>

namespace mex {

struct CliOptionSpec {
  std::vector<std::string> names;    // as typed: "--jobs", "-j"
  std::string description;           // one line
  bool takes_value = false;          // else a flag
  std::vector<std::string> choices;  // the values it takes, when a fixed set
};

struct CliCommandSpec {
  std::string name;
  std::string description;
  std::vector<CliOptionSpec> options;
  bool takes_file = false;                    // a positional milestone file (.yaml, .yml, .json)
  std::vector<std::string> argument_choices;  // its positional argument's, when a fixed set
};

struct CliSpec {
  std::vector<CliOptionSpec> global;  // before the command: --help, --version, -d
  std::vector<CliCommandSpec> commands;
};

// The completion script for `shell` (bash, zsh or fish); "" for another shell.
std::string CompletionScript(const CliSpec& spec, const std::string& shell);

}  // namespace mex
