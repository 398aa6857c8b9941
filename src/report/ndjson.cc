#include "report/ndjson.h"

#include <nlohmann/json.hpp>

namespace mex {

void NdjsonReporter::OnEvent(const Event& e) {
  std::string line = EventToJson(e).dump() + "\n";
  fwrite(line.data(), 1, line.size(), out_);
  fflush(out_);
}

}  // namespace mex
