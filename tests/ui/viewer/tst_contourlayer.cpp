// SPDX-License-Identifier: GPL-3.0-or-later
// ContourLayer: polygons in level-0 coordinates are stroked where the view transform puts them,
// at any zoom, with the same on-screen width; holes are outlined too.
#include "ui/viewer/contourlayer.h"
#include "ui/viewer/viewtransform.h"

#include <QPainter>
#include <QSignalSpy>
#include <QtTest>

using icmil::ui::ContourLayer;
using icmil::ui::ViewTransform;

namespace {

QImage paintLayer(ContourLayer &layer, const ViewTransform &view)
{
    QImage image(400, 300, QImage::Format_RGB32);
    image.fill(Qt::black);
    QPainter painter(&image);
    layer.paint(painter, view, QRectF(0, 0, 400, 300));
    return image;
}

bool isContour(const QImage &image, QPointF at)
{
    // Within a pixel of `at` (antialiasing spreads the 2 px line).
    for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
            const QColor c = image.pixelColor(at.toPoint() + QPoint(dx, dy));
            if (c.green() > 150 && c.red() < 80)
                return true;
        }
    }
    return false;
}

} // namespace

class TstContourLayer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void strokesPolygonsWhereTheViewPutsThem()
    {
        ContourLayer layer;
        QSignalSpy changed(&layer, &ContourLayer::changed);
        const QPolygonF outer({{1000, 1000}, {3000, 1000}, {3000, 2000}, {1000, 2000}});
        const QPolygonF hole({{1500, 1200}, {1800, 1200}, {1800, 1500}, {1500, 1500}, {1500, 1200}});
        layer.setPolygons({{outer, hole}});
        QCOMPARE(changed.size(), 1);
        QCOMPARE(layer.polygonCount(), 1);

        for (const double scale : {10.0, 16.0, 25.0}) {
            ViewTransform view(QSizeF(400, 300), 1.0, QSizeF(8000, 6000));
            view.setScale(scale);
            view.setCenter(QPointF(2000, 1500));
            const QImage image = paintLayer(layer, view);
            QVERIFY2(isContour(image, view.slideToView(QPointF(2000, 1000))), "top edge");
            QVERIFY2(isContour(image, view.slideToView(QPointF(3000, 1500))), "right edge");
            QVERIFY2(isContour(image, view.slideToView(QPointF(1650, 1500))), "hole");
            QVERIFY2(!isContour(image, view.slideToView(QPointF(2500, 1700))), "inside is not filled");
            QVERIFY2(!isContour(image, view.slideToView(QPointF(2000, 900))), "outside");
        }
        layer.clear();
        QCOMPARE(layer.polygonCount(), 0);
        ViewTransform view(QSizeF(400, 300), 1.0, QSizeF(8000, 6000));
        const QImage empty = paintLayer(layer, view);
        QCOMPARE(empty.pixel(200, 150), qRgb(0, 0, 0));
    }
};

QTEST_MAIN(TstContourLayer)
#include "tst_contourlayer.moc"
