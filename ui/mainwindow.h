#pragma once

#include "ui/slideinfoloader.h"

#include <QMainWindow>

class QLabel;
class QTableWidget;

namespace icmil::ui {

// The application window. For now: open a slide (File > Open, drag and drop, command line),
// see its overview picture and every property. The tiled viewer replaces the centre later.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);

    void openSlide(const QString &path);
    const SlideInfoLoader &loader() const { return m_loader; }

Q_SIGNALS:
    void slideShown(const QString &path);
    void slideFailed(const QString &path, const QString &message);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void chooseSlide();
    void showOverview(const SlideOverview &overview);
    void showError(const QString &path, const QString &message);

    SlideInfoLoader m_loader;
    QLabel *m_picture = nullptr;
    QTableWidget *m_properties = nullptr;
};

} // namespace icmil::ui
