#include "commands/load.h"

#include <sys/stat.h>

#include <cstdio>

#include "load/loader.h"
#include "util/terminal_text.h"

namespace mex {

bool LoadForCommand(const std::string& file, Milestone* milestone) {
  struct stat st {};
  if (stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::string safe = TerminalSafeLine(file);
    fprintf(stderr, "mex: %s is a folder; give the milestone file in it (%s/milestone.yaml)\n",
            safe.c_str(), safe.c_str());
    return false;
  }
  Diagnostics diags(file);
  if (LoadMilestone(file, milestone, &diags)) return true;
  std::string text = diags.Format();
  fwrite(text.data(), 1, text.size(), stderr);
  fprintf(stderr, "%zu error%s\n", diags.size(), diags.size() == 1 ? "" : "s");
  return false;
}

}  // namespace mex
