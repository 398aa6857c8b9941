// The fixed parts of the HTML report's page (report/html_report.h): its style, the skeleton of
// its body, and the script that draws the embedded report into it.
#pragma once

namespace mex {

extern const char kHtmlStyle[];
extern const char kHtmlBody[];
extern const char kHtmlScript[];

}  // namespace mex
