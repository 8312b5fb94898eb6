// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace icmil::engine {

// What the process's BLAS is, found at run time. Debian's LibTorch links the generic
// libblas.so.3, so the implementation (reference BLAS, OpenBLAS, ...) is whatever the system's
// alternatives point at; official LibTorch builds carry MKL inside. Both matter 10x for speed.
struct BlasInfo {
    std::string description; // e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64"
    int threads = -1;        // the BLAS's own thread count, -1 when it cannot be asked
};

// Looks for, in order: OpenBLAS (asks it for its config and thread count), MKL (as named by
// at::get_parallel_info()), the library that provides sgemm_, and finally the build's BLAS_INFO.
BlasInfo probeBlas();

// OpenBLAS built with pthreads keeps its own thread pool that torch::set_num_threads does not
// reach (MKL is set by ATen itself). Sets it when OpenBLAS is loaded; returns whether it was.
bool setBlasThreads(int count);

} // namespace icmil::engine
