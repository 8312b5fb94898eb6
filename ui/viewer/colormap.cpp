// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/colormap.h"

#include <QColor>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace icmil::ui {

struct Colormap::Entry {
    QString name;
    Table table;
};

namespace {

struct Anchor {
    double r, g, b; // 0..255
};

QRgb opaque(double r, double g, double b)
{
    const auto channel = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 255.0))); };
    return qRgb(channel(r), channel(g), channel(b));
}

// Evenly spaced anchors, linear interpolation between neighbours.
Colormap::Table fromAnchors(const std::vector<Anchor> &anchors)
{
    Colormap::Table table{};
    const double segments = static_cast<double>(anchors.size() - 1);
    for (int i = 0; i < Colormap::kSize; ++i) {
        const double position = i / double(Colormap::kSize - 1) * segments;
        const auto lower = std::min(static_cast<std::size_t>(position), anchors.size() - 2);
        const double f = position - static_cast<double>(lower);
        const Anchor &a = anchors[lower];
        const Anchor &b = anchors[lower + 1];
        table[static_cast<std::size_t>(i)] = opaque(a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f);
    }
    return table;
}

// Viridis (van der Walt & Smith, matplotlib 2.0's default) at t = 0, 0.1, ..., 1.
Colormap::Table viridisTable()
{
    return fromAnchors({{68, 1, 84},
                        {72, 36, 117},
                        {65, 68, 135},
                        {53, 95, 141},
                        {42, 120, 142},
                        {33, 145, 140},
                        {34, 168, 132},
                        {68, 191, 112},
                        {122, 209, 81},
                        {189, 223, 38},
                        {253, 231, 37}});
}

// Turbo (Mikhailov, Google AI 2019): the published degree-5 polynomial fit of each channel.
Colormap::Table turboTable()
{
    Colormap::Table table{};
    const auto poly
        = [](const std::array<double, 6> &c, double x) { return c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * c[5])))); };
    constexpr std::array<double, 6> red{0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943};
    constexpr std::array<double, 6> green{0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604};
    constexpr std::array<double, 6> blue{0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973};
    for (int i = 0; i < Colormap::kSize; ++i) {
        const double x = i / double(Colormap::kSize - 1);
        table[static_cast<std::size_t>(i)] = opaque(255.0 * poly(red, x), 255.0 * poly(green, x), 255.0 * poly(blue, x));
    }
    return table;
}

// Jet (MATLAB): each channel a trapezoid, dark blue -> blue -> cyan -> yellow -> red -> dark red.
Colormap::Table jetTable()
{
    Colormap::Table table{};
    const auto ramp = [](double x, double centre) { return std::clamp(1.5 - std::abs(4.0 * x - centre), 0.0, 1.0); };
    for (int i = 0; i < Colormap::kSize; ++i) {
        const double x = i / double(Colormap::kSize - 1);
        table[static_cast<std::size_t>(i)] = opaque(255.0 * ramp(x, 3.0), 255.0 * ramp(x, 2.0), 255.0 * ramp(x, 1.0));
    }
    return table;
}

// Cool-warm (Moreland, "Diverging Color Maps for Scientific Visualization", 2009): his table
// at t = 0, 1/8, ..., 1, from blue through light grey to red.
Colormap::Table coolwarmTable()
{
    return fromAnchors({{59, 76, 192},
                        {98, 130, 234},
                        {141, 176, 254},
                        {184, 208, 249},
                        {221, 221, 221},
                        {245, 196, 173},
                        {244, 154, 123},
                        {222, 96, 77},
                        {180, 4, 38}});
}

const std::vector<Colormap::Entry> &entries()
{
    static const std::vector<Colormap::Entry> all{
        {QStringLiteral("viridis"), viridisTable()},
        {QStringLiteral("turbo"), turboTable()},
        {QStringLiteral("jet"), jetTable()},
        {QStringLiteral("coolwarm"), coolwarmTable()},
    };
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
    if (!(t > 0.0)) // NaN too
        return 0;
    return static_cast<int>(std::lround(std::min(t, 1.0) * (kSize - 1)));
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
