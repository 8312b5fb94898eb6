// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/fieldgrid.h"

#include "slide/synthetic/seededrandom.h"

#include <algorithm>
#include <cmath>

namespace icmil::slide {

FieldGrid::FieldGrid(const TissuePhantom &phantom)
    : m_phantom(phantom), m_warpCoarse(SeededRandom::hash(phantom.seed(), 201), 1200.0 * phantom.pixelScale()),
      m_warpFine(SeededRandom::hash(phantom.seed(), 202), 400.0 * phantom.pixelScale()),
      m_stainCoarse(SeededRandom::hash(phantom.seed(), 203), 3000.0 * phantom.pixelScale()),
      m_stainFine(SeededRandom::hash(phantom.seed(), 204), 700.0 * phantom.pixelScale())
{ }

void FieldGrid::evaluate(std::int64_t left, std::int64_t top, int size, int margin)
{
    m_marginNodes = margin / kStep;
    m_originX = left - margin;
    m_originY = top - margin;
    m_columns = (size + 2 * margin) / kStep + 1;
    m_rows = m_columns;
    const double right = static_cast<double>(m_originX + static_cast<std::int64_t>(m_columns - 1) * kStep);
    const double bottom = static_cast<double>(m_originY + static_cast<std::int64_t>(m_rows - 1) * kStep);
    m_phantom.collectObjects(static_cast<double>(m_originX), static_cast<double>(m_originY), right, bottom, m_objects);
    for (SmoothRandomField *field : {&m_warpCoarse, &m_warpFine, &m_stainCoarse, &m_stainFine})
        field->prepare(static_cast<double>(m_originX), static_cast<double>(m_originY), right, bottom);

    const std::size_t count = static_cast<std::size_t>(m_columns) * m_rows;
    for (auto &values : m_values)
        values.resize(count);
    std::fill(std::begin(m_maximum), std::end(m_maximum), -1e30f);
    for (int row = 0; row < m_rows; ++row) {
        const double y = static_cast<double>(m_originY + static_cast<std::int64_t>(row) * kStep);
        for (int column = 0; column < m_columns; ++column) {
            const double x = static_cast<double>(m_originX + static_cast<std::int64_t>(column) * kStep);
            const std::size_t index = static_cast<std::size_t>(row) * m_columns + column;
            const PhantomFields fields = TissuePhantom::fieldsAt(m_objects, x, y);
            const float values[ChannelCount] = {fields.tissue,
                                                fields.tumour,
                                                fields.hole,
                                                0.65f * m_warpCoarse.at(x, y) + 0.35f * m_warpFine.at(x, y),
                                                0.6f * m_stainCoarse.at(x, y) + 0.4f * m_stainFine.at(x, y),
                                                fields.mimic,
                                                fields.centre};
            for (int channel = 0; channel < ChannelCount; ++channel) {
                m_values[channel][index] = values[channel];
                m_maximum[channel] = std::max(m_maximum[channel], values[channel]);
            }
        }
    }
}

FieldGrid::Sample FieldGrid::sample(double x, double y) const
{
    // Global node index and fraction, so a point gets the same value from every tile's grid.
    const double gx = x / kStep;
    const double gy = y / kStep;
    const double fx = std::floor(gx);
    const double fy = std::floor(gy);
    const auto tx = static_cast<float>(gx - fx);
    const auto ty = static_cast<float>(gy - fy);
    const int column = static_cast<int>(static_cast<std::int64_t>(fx) - m_originX / kStep);
    const int row = static_cast<int>(static_cast<std::int64_t>(fy) - m_originY / kStep);
    const int c0 = std::clamp(column, 0, m_columns - 1);
    const int c1 = std::clamp(column + 1, 0, m_columns - 1);
    const int r0 = std::clamp(row, 0, m_rows - 1);
    const int r1 = std::clamp(row + 1, 0, m_rows - 1);
    float out[ChannelCount];
    for (int channel = 0; channel < ChannelCount; ++channel) {
        const std::vector<float> &values = m_values[channel];
        const float a = values[static_cast<std::size_t>(r0 * m_columns + c0)];
        const float b = values[static_cast<std::size_t>(r0 * m_columns + c1)];
        const float c = values[static_cast<std::size_t>(r1 * m_columns + c0)];
        const float d = values[static_cast<std::size_t>(r1 * m_columns + c1)];
        const float top = a + (b - a) * tx;
        const float bottom = c + (d - c) * tx;
        out[channel] = top + (bottom - top) * ty;
    }
    return {out[Tissue], out[Tumour], out[Hole], out[Warp], out[Stain], out[Mimic], out[Centre]};
}

} // namespace icmil::slide
