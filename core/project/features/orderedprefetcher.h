// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace icmil::project {

// Produces items 0..count-1 on a few threads and hands them out in order, while the consumer
// works on earlier ones. Producers stay at most `ahead` items in front of the consumer, so memory
// is bounded. The first producer error is rethrown by next(). The one mechanism behind the patch
// readers (PatchBatchReader: one slide in grid order; PatchSampleReader: sampled patches).
//
// `produce(index, stopping)` runs on a producer thread; it may return early (any value) once
// `stopping` is set. Construct the prefetcher after everything `produce` uses, and destroy it
// first (declare it as the owner's last member): its destructor joins the threads.
template <typename Item> class OrderedPrefetcher {
public:
    using Producer = std::function<Item(std::int64_t index, const std::atomic_bool &stopping)>;

    OrderedPrefetcher(std::int64_t count, int threads, int ahead, Producer produce)
        : m_count(std::max<std::int64_t>(0, count)), m_ahead(std::max({1, threads, ahead})), m_produce(std::move(produce))
    {
        const auto started = std::min<std::int64_t>(std::max(1, threads), std::max<std::int64_t>(1, m_count));
        for (std::int64_t i = 0; i < started; ++i)
            m_threads.emplace_back([this] { producerLoop(); });
    }

    ~OrderedPrefetcher()
    {
        stop();
        for (std::thread &thread : m_threads)
            thread.join();
    }

    OrderedPrefetcher(const OrderedPrefetcher &) = delete;
    OrderedPrefetcher &operator=(const OrderedPrefetcher &) = delete;

    // The next item in order, waiting for it; nullopt once every item was delivered or after
    // stop(). Rethrows the first producer error.
    std::optional<Item> next()
    {
        std::unique_lock lock(m_mutex);
        if (m_nextToDeliver >= m_count)
            return std::nullopt;
        m_changed.wait(lock, [this] { return m_stopping || m_error || m_ready.contains(m_nextToDeliver); });
        if (m_error)
            std::rethrow_exception(m_error);
        if (m_stopping)
            return std::nullopt;
        auto node = m_ready.extract(m_nextToDeliver);
        ++m_nextToDeliver;
        lock.unlock();
        m_changed.notify_all(); // a producer waiting for room may go on
        return std::move(node.mapped());
    }

    // Makes next() return nullopt and the producers end soon; safe from any thread.
    void stop()
    {
        {
            const std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_changed.notify_all();
    }

    std::int64_t count() const { return m_count; }

private:
    void producerLoop()
    {
        for (;;) {
            std::int64_t index = 0;
            {
                std::unique_lock lock(m_mutex);
                m_changed.wait(lock, [this] {
                    return m_stopping || m_error || m_nextToProduce >= m_count || m_nextToProduce < m_nextToDeliver + m_ahead;
                });
                if (m_stopping || m_error || m_nextToProduce >= m_count)
                    return;
                index = m_nextToProduce++;
            }
            try {
                Item item = m_produce(index, m_stopping);
                const std::lock_guard lock(m_mutex);
                m_ready.emplace(index, std::move(item));
            } catch (...) {
                const std::lock_guard lock(m_mutex);
                if (!m_error)
                    m_error = std::current_exception();
            }
            m_changed.notify_all();
        }
    }

    const std::int64_t m_count;
    const int m_ahead;
    Producer m_produce;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::int64_t m_nextToProduce = 0;
    std::int64_t m_nextToDeliver = 0;
    std::map<std::int64_t, Item> m_ready;
    std::exception_ptr m_error;
    std::atomic_bool m_stopping{false};
    std::vector<std::thread> m_threads;
};

} // namespace icmil::project
