// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/levelselection.h"

#include <QtTest>

using icmil::slide::levelForDownsample;

class TstLevelSelection : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void picksFinestLevelNotUpscaling_data()
    {
        QTest::addColumn<QList<double>>("downsamples");
        QTest::addColumn<double>("request");
        QTest::addColumn<int>("expected");

        const QList<double> aperio{1.0, 4.0, 16.0, 64.0};
        QTest::newRow("below level 0") << aperio << 0.25 << 0;
        QTest::newRow("exactly level 0") << aperio << 1.0 << 0;
        QTest::newRow("between 0 and 1") << aperio << 3.99 << 0;
        QTest::newRow("exactly level 1") << aperio << 4.0 << 1;
        QTest::newRow("level 1 within tolerance") << aperio << 4.0 * (1.0 - 1e-9) << 1;
        QTest::newRow("between 1 and 2") << aperio << 10.0 << 1;
        QTest::newRow("exactly last") << aperio << 64.0 << 3;
        QTest::newRow("beyond last") << aperio << 500.0 << 3;

        // Real scanners write downsamples that are not powers of two.
        const QList<double> odd{1.0, 4.000566, 16.004318, 32.01729};
        QTest::newRow("odd: just under level 1") << odd << 4.0 << 0;
        QTest::newRow("odd: level 1") << odd << 4.1 << 1;
        QTest::newRow("odd: between 2 and 3") << odd << 20.0 << 2;
        QTest::newRow("single level") << QList<double>{1.0} << 8.0 << 0;
    }
    void picksFinestLevelNotUpscaling()
    {
        QFETCH(QList<double>, downsamples);
        QFETCH(double, request);
        QFETCH(int, expected);
        const std::vector<double> levels(downsamples.begin(), downsamples.end());
        QCOMPARE(levelForDownsample(levels, request), expected);
    }
};

QTEST_GUILESS_MAIN(TstLevelSelection)
#include "tst_levelselection.moc"
