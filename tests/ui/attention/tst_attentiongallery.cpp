// SPDX-License-Identifier: GPL-3.0-or-later
// AttentionGallery: the top-k patches' pictures come from the slide off the GUI thread, in rank
// order with their scores, and clicking one asks the viewer to show that patch.
#include "ui/attention/attentiongallery.h"

#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"

#include "common/slidetestsupport.h"

#include <QSignalSpy>
#include <QtTest>

namespace fs = std::filesystem;
using icmil::ui::AttentionGallery;

class TstAttentionGallery : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void showsThePatchesAndCentresOnAClick()
    {
        const fs::path dir = icmil::test::scratchDir("attentiongallery");
        icmil::slide::SyntheticSlideConfig config;
        config.width = 4096;
        config.height = 3072;
        config.seed = 9;
        config.slideId = "gallery";
        icmil::slide::SyntheticSlideWriter(config).write(dir / "gallery.svs", dir / "mask.png", dir / "gallery.geojson");
        const std::shared_ptr<const icmil::slide::SlideSource> source = icmil::slide::SlideSource::open(dir / "gallery.svs");

        AttentionGallery gallery;
        gallery.resize(400, 300);
        gallery.show();
        std::vector<AttentionGallery::Patch> patches
            = {{QRectF(2048, 1536, 256, 256), 1.0, 3.5}, {QRectF(0, 0, 256, 256), 0.5, 1.2}, {QRectF(1024, 512, 512, 512), 0.25, 0.1}};
        gallery.setPatches(source, patches);
        QCOMPARE(gallery.count(), 3);
        QCOMPARE(gallery.item(0)->text(), QStringLiteral("#1  1.000"));
        QTRY_COMPARE_WITH_TIMEOUT(gallery.picturesLoaded(), 3, 20000);
        // The picture is the slide's region, not the placeholder: compare one pixel with the slide.
        const QImage icon = gallery.item(0)->icon().pixmap(AttentionGallery::kIconSize).toImage();
        QVERIFY(!icon.isNull());
        const icmil::slide::RgbaImage region = source->readRegion(0, 2048 + 128, 1536 + 128, 1, 1);
        const QColor expected(region.pixels[0], region.pixels[1], region.pixels[2]);
        const QColor centre = icon.pixelColor(icon.width() / 2, icon.height() / 2);
        QVERIFY2(std::abs(centre.red() - expected.red()) + std::abs(centre.green() - expected.green())
                         + std::abs(centre.blue() - expected.blue())
                     < 120,
                 qPrintable(QStringLiteral("%1 vs %2").arg(centre.name(), expected.name())));

        QSignalSpy activated(&gallery, &AttentionGallery::patchActivated);
        Q_EMIT gallery.itemClicked(gallery.item(0));
        QCOMPARE(activated.size(), 1);
        QCOMPARE(activated[0][0].toRectF().center(), QPointF(2176, 1664));

        // A new slide's patches replace the old ones; late pictures of the old are dropped.
        gallery.setPatches(source, {patches[2]});
        QCOMPARE(gallery.count(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(gallery.picturesLoaded(), 1, 20000);
        gallery.setPatches(nullptr, {});
        QCOMPARE(gallery.count(), 0);
    }
};

QTEST_MAIN(TstAttentionGallery)
#include "tst_attentiongallery.moc"
