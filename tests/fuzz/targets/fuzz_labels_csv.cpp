// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: the labels CSV (LabelsTable::parse), then what the app and the CLI ask of a table
// (warnings, class names, a lookup). Row problems are collected, never thrown; a file-level
// problem throws ProjectError, the documented outcome.

#include "fuzztarget.h"
#include "project/dataset/labelstable.h"
#include "project/projecterror.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        const auto table = icmil::project::LabelsTable::parse(icmil::fuzz::asText(data, size), "labels.csv");
        (void)table.warnings(false);
        (void)table.warnings(true);
        (void)table.classNames();
        if (!table.rows().empty())
            (void)table.find(table.rows().front().slideId);
    } catch (const icmil::project::ProjectError &) { }
    return 0;
}
