// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/export/geojsonpolygons.h"

#include <QPolygonF>

#include <vector>

namespace icmil::ui {

// Polygons read from a project file (rings of level-0 points, outer first) as Qt polygons.
inline std::vector<std::vector<QPolygonF>> toQtPolygons(const std::vector<project::PolygonRings> &polygons)
{
    std::vector<std::vector<QPolygonF>> out;
    out.reserve(polygons.size());
    for (const project::PolygonRings &rings : polygons) {
        std::vector<QPolygonF> qrings;
        for (const project::Ring &ring : rings) {
            QPolygonF polygon;
            polygon.reserve(static_cast<qsizetype>(ring.size()));
            for (const auto &[x, y] : ring)
                polygon << QPointF(x, y);
            qrings.push_back(polygon);
        }
        out.push_back(std::move(qrings));
    }
    return out;
}

} // namespace icmil::ui
