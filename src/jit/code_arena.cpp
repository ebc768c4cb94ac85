// The JIT's code arena: dual-mapped memfd chunks (see code_arena.hpp).
#include "code_arena.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: ask for an executable memfd where vm.memfd_noexec defaults to sealing
#endif

namespace bpfvm::jit {

/// One memfd mapped twice. `free` holds the ranges not handed out, coalesced, by offset.
struct ArenaChunk {
    int fd = -1;
    uint8_t* rw = nullptr;
    uint8_t* rx = nullptr;
    size_t size = 0;
    size_t fresh = 0;  // offsets at or above this were never handed out
    std::map<size_t, size_t> free;
};

namespace {

// Virtual size of a chunk; shmem pages are only allocated where code is written.
constexpr size_t kChunkBytes = size_t{8} << 20;

size_t page_size() {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return page;
}

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

struct ArenaState {
    std::mutex mutex;
    std::vector<std::unique_ptr<ArenaChunk>> chunks;
    bool dual_mapping_failed = false;  // memfd or its executable view unavailable: private mappings
};

ArenaState& state() {
    static ArenaState* s = new ArenaState;  // never destroyed, like the arena
    return *s;
}

std::unique_ptr<ArenaChunk> map_chunk(size_t size) {
    int fd = memfd_create("bpfvm-jit", MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = memfd_create("bpfvm-jit", MFD_CLOEXEC);  // kernels before 6.3
    if (fd < 0) return nullptr;
    auto chunk = std::make_unique<ArenaChunk>();
    chunk->fd = fd;
    chunk->size = size;
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
        close(fd);
        return nullptr;
    }
    void* rw = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void* rx = rw == MAP_FAILED ? MAP_FAILED : mmap(nullptr, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (rx == MAP_FAILED) {  // e.g. vm.memfd_noexec=2, or a policy against executable shared memory
        if (rw != MAP_FAILED) munmap(rw, size);
        close(fd);
        return nullptr;
    }
    chunk->rw = static_cast<uint8_t*>(rw);
    chunk->rx = static_cast<uint8_t*>(rx);
    chunk->free.emplace(0, size);
    return chunk;
}

/// First fit in `chunk`; returns the offset or SIZE_MAX.
size_t take(ArenaChunk& chunk, size_t need) {
    for (auto it = chunk.free.begin(); it != chunk.free.end(); ++it) {
        if (it->second < need) continue;
        const size_t off = it->first;
        const size_t left = it->second - need;
        chunk.free.erase(it);
        if (left > 0) chunk.free.emplace(off + need, left);
        return off;
    }
    return SIZE_MAX;
}

/// Fallback: a private mapping written read-write, then made read-execute.
Result<CodeBlock> place_private(const uint8_t* code, size_t size) {
    const size_t bytes = round_up(size, page_size());
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return make_error(ErrorCode::kIo, "jit: cannot map " + std::to_string(bytes) + " bytes of code memory");
    std::memcpy(p, code, size);
    __builtin___clear_cache(static_cast<char*>(p), static_cast<char*>(p) + size);
    if (mprotect(p, bytes, PROT_READ | PROT_EXEC) != 0) {
        munmap(p, bytes);
        return make_error(ErrorCode::kIo, "jit: cannot make code memory executable");
    }
    return CodeBlock{static_cast<uint8_t*>(p), bytes, nullptr, 0};
}

}  // namespace

CodeArena& CodeArena::instance() {
    static CodeArena* arena = new CodeArena;
    return *arena;
}

Result<CodeBlock> CodeArena::place(const uint8_t* code, size_t size) {
    const size_t need = round_up(size == 0 ? 1 : size, kCodeAlign);
    ArenaState& s = state();
    ArenaChunk* chunk = nullptr;
    size_t off = SIZE_MAX;
    bool reused = false;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.dual_mapping_failed) return place_private(code, size);
        for (const auto& c : s.chunks) {
            off = take(*c, need);
            if (off != SIZE_MAX) {
                chunk = c.get();
                break;
            }
        }
        if (chunk == nullptr) {
            auto fresh = map_chunk(std::max(kChunkBytes, round_up(need, page_size())));
            if (fresh == nullptr) {
                s.dual_mapping_failed = true;
                return place_private(code, size);
            }
            chunk = fresh.get();
            s.chunks.push_back(std::move(fresh));
            off = take(*chunk, need);
        }
        reused = off < chunk->fresh;
        chunk->fresh = std::max(chunk->fresh, off + need);
    }
    // The block is ours now; other threads only run code in other blocks of the same pages.
    std::memcpy(chunk->rw + off, code, size);
#if defined(__aarch64__)
    if (reused) {
        // Instruction caches are flushed below; emulators that cache translations per page
        // (qemu-user) do not see writes through the other view, but do drop their translations
        // when the executable view is mapped again. Same file pages, so running code is unaffected.
        const size_t begin = off / page_size() * page_size();
        const size_t end = round_up(off + need, page_size());
        if (mmap(chunk->rx + begin, end - begin, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, chunk->fd,
                 static_cast<off_t>(begin)) == MAP_FAILED) {
            release(CodeBlock{chunk->rx + off, need, chunk, off});
            return make_error(ErrorCode::kIo, "jit: cannot remap code memory");
        }
    }
#else
    (void)reused;
#endif
    __builtin___clear_cache(reinterpret_cast<char*>(chunk->rx + off), reinterpret_cast<char*>(chunk->rx + off + size));
    return CodeBlock{chunk->rx + off, need, chunk, off};
}

void CodeArena::release(const CodeBlock& block) {
    if (block.exec == nullptr) return;
    if (block.chunk == nullptr) {
        munmap(block.exec, block.size);
        return;
    }
    ArenaState& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    auto& free = block.chunk->free;
    size_t off = block.offset;
    size_t len = block.size;
    auto next = free.lower_bound(off);
    if (next != free.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second == off) {
            off = prev->first;
            len += prev->second;
            free.erase(prev);
        }
    }
    if (next != free.end() && off + len == next->first) {
        len += next->second;
        free.erase(next);
    }
    free.emplace(off, len);
}

}  // namespace bpfvm::jit
