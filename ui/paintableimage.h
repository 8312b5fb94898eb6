#pragma once

#include "slide/rgbaimage.h"

#include <QImage>

namespace icmil::ui {

// The one conversion from the slide room's straight RGBA to a QImage ready to paint: opaque
// pictures become Format_RGB32 (no blending, fastest to draw), pictures with any transparency
// Format_ARGB32_Premultiplied. The result owns its pixels. Safe on any thread.
QImage toPaintableImage(const slide::RgbaImage &rgba);

} // namespace icmil::ui
