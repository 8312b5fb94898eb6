// SPDX-License-Identifier: GPL-3.0-or-later
#include "errorboundary.h"

#include <c10/util/Exception.h>

#include <exception>
#include <sstream>

namespace icmil::cli {

std::string oneLine(std::string_view message)
{
    std::string result;
    std::istringstream lines{std::string(message)};
    std::string line;
    while (std::getline(lines, line)) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos)
            continue;
        const auto last = line.find_last_not_of(" \t\r");
        if (!result.empty())
            result += "; ";
        result += line.substr(first, last - first + 1);
    }
    return result.empty() ? std::string("an error without a message") : result;
}

int runWithErrorBoundary(const std::function<int()> &command, std::ostream &err)
{
    try {
        return command();
    } catch (const c10::Error &e) { // before std::exception: what() would add the backtrace
        err << "error: " << oneLine(e.what_without_backtrace()) << '\n';
    } catch (const std::exception &e) {
        err << "error: " << oneLine(e.what()) << '\n';
    } catch (...) {
        err << "error: an unexpected error of an unknown type stopped the command\n";
    }
    return 1;
}

} // namespace icmil::cli
