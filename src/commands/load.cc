#include "commands/load.h"

#include <cstdio>

#include "load/loader.h"

namespace mex {

bool LoadForCommand(const std::string& file, Milestone* milestone) {
  Diagnostics diags(file);
  if (LoadMilestone(file, milestone, &diags)) return true;
  std::string text = diags.Format();
  fwrite(text.data(), 1, text.size(), stderr);
  fprintf(stderr, "%zu error%s\n", diags.size(), diags.size() == 1 ? "" : "s");
  return false;
}

}  // namespace mex
