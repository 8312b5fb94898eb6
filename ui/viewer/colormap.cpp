// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/colormap.h"

#include "common/colormaptable.h"

#include <QColor>

#include <stdexcept>
#include <utility>
#include <vector>

namespace icmil::ui {

struct Colormap::Entry {
    QString name;
    Table table;
};

namespace {

// The app draws with the tables of core/common, so exported heatmaps have the same colours.
const std::vector<Colormap::Entry> &entries()
{
    static const std::vector<Colormap::Entry> all = [] {
        std::vector<Colormap::Entry> list;
        for (const ColormapTable &source : colormapTables()) {
            Colormap::Entry entry{QString::fromStdString(source.name), {}};
            for (std::size_t i = 0; i < entry.table.size(); ++i)
                entry.table[i] = qRgb(source.rgb[i][0], source.rgb[i][1], source.rgb[i][2]);
            list.push_back(std::move(entry));
        }
        return list;
    }();
    return all;
}

} // namespace

Colormap::Colormap() : m_entry(&entries().front())
{ }

QStringList Colormap::names()
{
    QStringList list;
    for (const Entry &entry : entries())
        list.append(entry.name);
    return list;
}

std::optional<Colormap> Colormap::byName(const QString &name)
{
    for (const Entry &entry : entries())
        if (entry.name.compare(name, Qt::CaseInsensitive) == 0)
            return Colormap(&entry);
    return std::nullopt;
}

Colormap Colormap::fromName(const QString &name)
{
    if (std::optional<Colormap> map = byName(name))
        return *map;
    throw std::invalid_argument("Unknown colormap '" + name.toStdString() + "' (known: " + names().join(QStringLiteral(", ")).toStdString()
                                + ")");
}

const QString &Colormap::name() const
{
    return m_entry->name;
}

int Colormap::indexOf(double t)
{
    return ColormapTable::indexOf(t);
}

QRgb Colormap::at(double t) const
{
    return m_entry->table[static_cast<std::size_t>(indexOf(t))];
}

const Colormap::Table &Colormap::table() const
{
    return m_entry->table;
}

} // namespace icmil::ui
