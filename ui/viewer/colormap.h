// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QRgb>
#include <QString>
#include <QStringList>

#include <array>
#include <optional>

namespace icmil::ui {

// A 256-colour lookup table for drawing scores in [0, 1]: viridis (perceptually uniform, the
// default), turbo (rainbow without jet's bands), jet (for comparison with older papers) and
// coolwarm (Moreland's diverging map, white in the middle): common/colormaptable.h's colours, the
// ones exported heatmaps have. A value type: it refers to one of the tables built once per
// process, so copying it is free and at() is one table read.
class Colormap {
public:
    static constexpr int kSize = 256;
    using Table = std::array<QRgb, kSize>;

    Colormap(); // viridis

    static QStringList names();                                 // viridis, turbo, jet, coolwarm
    static std::optional<Colormap> byName(const QString &name); // nullopt for an unknown name
    // Throws std::invalid_argument "Unknown colormap 'x' (known: viridis, turbo, jet, coolwarm)".
    static Colormap fromName(const QString &name);

    const QString &name() const;
    // The colour for t clamped to [0, 1] (NaN counts as 0): entry round(t * 255), opaque.
    QRgb at(double t) const;
    static int indexOf(double t);
    const Table &table() const;

    friend bool operator==(const Colormap &a, const Colormap &b) { return a.m_entry == b.m_entry; }

    struct Entry; // a name and its table, defined in the .cpp

private:
    explicit Colormap(const Entry *entry) : m_entry(entry) { }

    const Entry *m_entry;
};

} // namespace icmil::ui
