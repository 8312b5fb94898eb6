// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QImage>
#include <QListWidget>
#include <QPointF>
#include <QRectF>
#include <QThreadPool>

#include <memory>
#include <vector>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::ui {

// The top-k attention patches of the slide in view, most attended first: each patch's picture
// (read from the slide on a background pool), its rank and score. Clicking one asks the viewer
// to show it (patchActivated: zoomed to it and outlined).
class AttentionGallery : public QListWidget {
    Q_OBJECT
public:
    struct Patch {
        QRectF level0;      // the patch's footprint
        double score = 0.0; // normalised 0..1 as the heatmap shows it
        double raw = 0.0;
    };
    static constexpr int kIconSize = 112;

    explicit AttentionGallery(QWidget *parent = nullptr);
    ~AttentionGallery() override;

    // Replaces the gallery; pictures arrive as they are read. Empty `patches`: cleared.
    void setPatches(std::shared_ptr<const slide::SlideSource> source, std::vector<Patch> patches);
    const std::vector<Patch> &patches() const { return m_patches; }
    int picturesLoaded() const { return m_loaded; }

Q_SIGNALS:
    void patchActivated(QRectF level0);

private:
    void onPicture(quint64 generation, int index, const QImage &image);

    std::vector<Patch> m_patches;
    quint64 m_generation = 0;
    int m_loaded = 0;
    QThreadPool m_pool;
};

} // namespace icmil::ui
