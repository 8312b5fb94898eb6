// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for the unpickler behind engine/torchfile/torchfile.h on hostile pickles: what a pickle
// reaches for (os.system, builtins.eval, subprocess.Popen, torch.load, ...) is refused before
// anything is built, an allowed global called with wrong arguments is refused, and lengths that
// say gigabytes in a tiny file fail before anything that large is allocated. Damaged files, CRC
// checks and mutants are in tst_torchfilehostile.cpp.

#include "enginecheck.h"
#include "torchfilecrafting.h"
#include "torchfilefixtures.h"

#include "engine/engineerror.h"
#include "engine/torchfile/pickleunpickler.h"
#include "engine/torchfile/torchfile.h"
#include "engine/torchfile/torchobjectfactory.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using icmil::engine::readStateDict;
using namespace torchfilecrafting;
using namespace torchfilefixtures;

// ---- the whitelist: what a hostile pickle reaches for is refused, and nothing is built ----------

namespace {

// Storages of zeros, counted: a refused pickle must not get as far as reading one.
class CountingStorages : public icmil::engine::TorchStorageLoader {
public:
    int loads = 0;
    torch::Tensor loadStorage(const std::string &, c10::ScalarType dtype, std::int64_t numel, const std::string &) override
    {
        ++loads;
        return torch::zeros({numel}, torch::TensorOptions().dtype(dtype));
    }
};

// TorchObjectFactory, counting what it lets through: globals resolved, calls made, tensors built.
class CountingFactory : public icmil::engine::PickleObjectFactory {
public:
    explicit CountingFactory(icmil::engine::TorchStorageLoader *storages) : m_inner(storages) { }
    int globals = 0;
    int calls = 0;
    int tensors = 0;

    icmil::engine::PickleRef global(icmil::engine::PickleGraph &graph, const std::string &module, const std::string &name) override
    {
        const auto ref = m_inner.global(graph, module, name);
        ++globals;
        return ref;
    }
    icmil::engine::PickleRef call(icmil::engine::PickleGraph &graph, icmil::engine::PickleRef callable,
                                  icmil::engine::PickleRef args) override
    {
        const auto ref = m_inner.call(graph, callable, args);
        ++calls;
        tensors += ref.kind == icmil::engine::PickleRef::Kind::Tensor ? 1 : 0;
        return ref;
    }
    void build(icmil::engine::PickleGraph &graph, icmil::engine::PickleRef target, icmil::engine::PickleRef state) override
    {
        m_inner.build(graph, target, state);
    }
    icmil::engine::PickleRef persistentLoad(icmil::engine::PickleGraph &graph, icmil::engine::PickleRef id) override
    {
        return m_inner.persistentLoad(graph, id);
    }

private:
    icmil::engine::TorchObjectFactory m_inner;
};

struct Unpickled {
    std::string error;
    int storageLoads = 0;
    int globals = 0;
    int calls = 0;
    int tensors = 0;
};

Unpickled unpickleCounting(const std::string &pickle)
{
    CountingStorages storages;
    CountingFactory factory(&storages);
    Unpickled result;
    result.error = errorOf([&] {
        icmil::engine::PickleGraph graph;
        icmil::engine::PickleUnpickler unpickler(graph, factory);
        std::size_t end = 0;
        graph.freeze(unpickler.load(pickle, 0, end));
    });
    result.storageLoads = storages.loads;
    result.globals = factory.globals;
    result.calls = factory.calls;
    result.tensors = factory.tensors;
    return result;
}

const std::string kRefusal = "': a weights file holds only tensors, dicts and plain values, and this reader runs no code from files";
const std::string kCorrupted = " of the pickle data (the file is corrupted or not a torch.save file)";

} // namespace

ENGINE_TEST(codeExecutingGlobalsAreRefusedBeforeAnythingIsBuilt)
{
    // Each callable, named by GLOBAL and by STACK_GLOBAL, then called on a real tensor (a storage
    // the file holds) and a command: refused at the name, so no storage is read, nothing called.
    const std::vector<std::pair<std::string, std::string>> callables{{"subprocess", "Popen"},
                                                                     {"subprocess", "check_output"},
                                                                     {"posix", "system"},
                                                                     {"os", "system"},
                                                                     {"nt", "system"},
                                                                     {"builtins", "getattr"},
                                                                     {"builtins", "__import__"},
                                                                     {"builtins", "eval"},
                                                                     {"builtins", "exec"},
                                                                     {"torch", "load"},
                                                                     {"torch._utils", "_rebuild_from_type_v2"},
                                                                     {"torch.storage", "_load_from_bytes"}};
    for (const auto &[module, name] : callables) {
        for (const bool stack : {false, true}) {
            PickleBytes pickle;
            pickle.proto(4);
            if (stack)
                pickle.str(module).str(name).op('\x93');
            else
                pickle.global(module, name);
            pickle.mark().tensor("FloatStorage", "0", 4, 0, {4}, {1}).str("touch /tmp/pwned").tuple().reduce().stop();
            const std::string expected = "refusing to load '" + module + "." + name + kRefusal;
            const Unpickled run = unpickleCounting(pickle.bytes());
            CHECK_EQ(run.error, expected);
            CHECK_EQ(run.storageLoads, 0);
            CHECK_EQ(run.globals, 0);
            CHECK_EQ(run.calls, 0);
            const fs::path path = written("evil-" + name + ".pt", zipTorchFile(pickle.bytes(), {{"0", std::string(16, '\0')}}));
            CHECK_THROWS_MESSAGE(readStateDict(path), prefixFor(path) + expected);
        }
    }
    // A forbidden storage class inside a persistent id is refused by the same name check.
    const std::string persistent
        = PickleBytes().proto().mark().str("storage").global("os", "system").str("0").str("cpu").integer(4).tuple().op('Q').stop().bytes();
    const Unpickled viaStorage = unpickleCounting(persistent);
    CHECK_EQ(viaStorage.error, "refusing to load 'os.system" + kRefusal);
    CHECK_EQ(viaStorage.storageLoads, 0);
    // The opcodes that import by themselves (INST, OBJ, EXT1/2/4) are not run at all.
    for (const auto &[opcode, shown] : std::vector<std::pair<std::string, std::string>>{
             {"i", "0x69 ('i')"}, {"o", "0x6f ('o')"}, {"\x82", "0x82"}, {"\x83", "0x83"}, {"\x84", "0x84"}}) {
        const std::string pickle = std::string("\x80\x02", 2) + opcode + "os\nsystem\n.";
        CHECK_EQ(unpickleCounting(pickle).error, "unsupported pickle opcode " + shown + " at byte 2" + kCorrupted);
    }
}

ENGINE_TEST(allowedGlobalsWithWrongArgumentsAreRefused)
{
    const auto storage = [](PickleBytes &pickle) -> PickleBytes & {
        return pickle.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(4).tuple().op('Q');
    };
    const std::string rebuild = "'torch._utils._rebuild_tensor_v2' is called with wrong arguments: ";
    struct Case {
        std::string pickle;
        std::string error;
        int storageLoads;
        int tensors;
    };
    std::vector<Case> cases;
    {
        PickleBytes p;
        p.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(p).integer(0).tuple().reduce().stop();
        cases.push_back(
            {p.bytes(), rebuild + "(a storage, an int), not (storage, offset, size, stride[, requires_grad, hooks, metadata])", 1, 0});
    }
    {
        PickleBytes p;
        p.proto().global("torch._utils", "_rebuild_tensor").mark();
        storage(p).integer(0).ints({4}).ints({1}).op('\x89').tuple().reduce().stop();
        cases.push_back(
            {p.bytes(),
             "'torch._utils._rebuild_tensor' is called with wrong arguments: (a storage, an int, a tuple, a tuple, a bool), not "
             "(storage, offset, size, stride)",
             1, 0});
    }
    cases.push_back({PickleBytes()
                         .proto()
                         .global("torch._utils", "_rebuild_tensor_v2")
                         .mark()
                         .str("storage")
                         .integer(0)
                         .ints({4})
                         .ints({1})
                         .tuple()
                         .reduce()
                         .stop()
                         .bytes(),
                     rebuild + "a tensor's storage should be a storage, found a str", 0, 0});
    {
        PickleBytes p;
        p.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(p).str("0").ints({4}).ints({1}).tuple().reduce().stop();
        cases.push_back({p.bytes(), rebuild + "a tensor's storage offset should be an int, found a str", 1, 0});
    }
    {
        PickleBytes p;
        p.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(p).integer(0).str("4").ints({1}).tuple().reduce().stop();
        cases.push_back({p.bytes(), rebuild + "a tensor's size should be a tuple of ints, found a str", 1, 0});
    }
    {
        PickleBytes p;
        p.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(p).integer(0).ints({2, 2}).ints({1}).tuple().reduce().stop();
        cases.push_back({p.bytes(), rebuild + "a tensor has 2 sizes but 1 strides", 1, 0});
    }
    cases.push_back({PickleBytes().proto().global("collections", "OrderedDict").integer(5).op('\x85').reduce().stop().bytes(),
                     "'collections.OrderedDict' is called with wrong arguments: (an int), not ([list of key-value pairs])", 0, 0});
    cases.push_back(
        {PickleBytes().proto().global("collections", "OrderedDict").emptyList().integer(1).op('a').op('\x85').reduce().stop().bytes(),
         "'collections.OrderedDict' is called with wrong arguments: an item of its list is not a key-value pair", 0, 0});
    cases.push_back({PickleBytes().proto().global("collections", "OrderedDict").emptyList().reduce().stop().bytes(),
                     "the arguments to 'collections.OrderedDict' should be a tuple, found a list", 0, 0});
    cases.push_back(
        {PickleBytes().proto().global("torch._utils", "_rebuild_parameter").str("w").op('\x88').op('\x86').reduce().stop().bytes(),
         "'torch._utils._rebuild_parameter' is called with wrong arguments: (a str, a bool), not (tensor[, requires_grad, hooks, state])",
         0, 0});
    cases.push_back({PickleBytes().proto().global("torch", "Size").emptyDict().op('\x85').reduce().stop().bytes(),
                     "'torch.Size' is called with wrong arguments: (a dict), not ([list or tuple])", 0, 0});
    cases.push_back({PickleBytes().proto().global("builtins", "bytes").integer(1 << 30).op('\x85').reduce().stop().bytes(),
                     "'builtins.bytes' is called with wrong arguments: (an int), not ()", 0, 0});
    cases.push_back({PickleBytes().proto().global("_codecs", "encode").str("abc").str("utf-8").op('\x86').reduce().stop().bytes(),
                     "'_codecs.encode' is called with wrong arguments: (a str, a str), not (str, 'latin1')", 0, 0});
    cases.push_back({PickleBytes().proto().global("torch.jit._pickle", "build_intlist").ints({1}).op('\x85').reduce().stop().bytes(),
                     "'torch.jit._pickle.build_intlist' is called with wrong arguments: (a tuple), not (list)", 0, 0});
    cases.push_back({PickleBytes().proto().global("torch", "FloatStorage").op(')').reduce().stop().bytes(),
                     "the pickle calls 'torch.FloatStorage', which only names a type here", 0, 0});
    cases.push_back({PickleBytes().proto().integer(1).op(')').reduce().stop().bytes(),
                     "the pickle calls an int, which is not a class or function", 0, 0});
    // BUILD (__setstate__) only on an OrderedDict; SETITEM and APPEND only on their own types.
    cases.push_back({PickleBytes().proto().emptyList().emptyDict().op('b').stop().bytes(),
                     "the pickle sets the state of a list; only an OrderedDict's attributes are accepted", 0, 0});
    cases.push_back({PickleBytes().proto().tensor("FloatStorage", "0", 4, 0, {4}, {1}).emptyDict().op('b').stop().bytes(),
                     "the pickle sets the state of a tensor; only an OrderedDict's attributes are accepted", 1, 1});
    {
        const std::string body = PickleBytes().proto().emptyList().str("k").integer(1).bytes();
        cases.push_back({body + "s.", "SETITEM expects a dict, found a list at byte " + std::to_string(body.size()) + kCorrupted, 0, 0});
        const std::string tensorBody = PickleBytes().proto().tensor("FloatStorage", "0", 4, 0, {4}, {1}).integer(1).bytes();
        cases.push_back(
            {tensorBody + "a.", "APPEND expects a list, found a tensor at byte " + std::to_string(tensorBody.size()) + kCorrupted, 1, 1});
    }
    for (const Case &c : cases) {
        const Unpickled run = unpickleCounting(c.pickle);
        CHECK_EQ(run.error, c.error);
        CHECK_EQ(run.storageLoads, c.storageLoads);
        CHECK_EQ(run.tensors, c.tensors);
    }
    // Through a file: the same sentence after the file's name.
    const fs::path path = written("wrong-arguments.pt", zipTorchFile(cases.front().pickle, {{"0", std::string(16, '\0')}}));
    CHECK_THROWS_MESSAGE(readStateDict(path), prefixFor(path) + cases.front().error);
}

namespace {

long peakResidentKiB()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmHWM:"))
            return std::stol(line.substr(6));
    return 0;
}

// A copy of a stored ZIP with one member's sizes in the central directory replaced.
std::string withDeclaredSize(std::string zip, const std::string &name, std::uint32_t size)
{
    const std::size_t header = zip.find(littleEndian(0x02014b50, 4) + littleEndian(20, 2));
    std::size_t at = header;
    while (at != std::string::npos && zip.compare(at + 46, name.size(), name) != 0)
        at = zip.find(littleEndian(0x02014b50, 4), at + 4);
    zip.replace(at + 20, 8, littleEndian(size, 4) + littleEndian(size, 4));
    return zip;
}

} // namespace

ENGINE_TEST(hugeLengthsInTinyFilesFailBeforeAllocating)
{
    const long peakBefore = peakResidentKiB();
    // Each length field of the pickle says gigabytes or more; the file has a few bytes left.
    const std::vector<std::pair<std::string, std::string>> lengths{{"X", littleEndian(0xffffffffu, 4)},
                                                                   {"B", littleEndian(0xffffffffu, 4)},
                                                                   {"\x8d", littleEndian(std::uint64_t{1} << 62, 8)},
                                                                   {"\x8e", littleEndian(~std::uint64_t{0}, 8)},
                                                                   {"\x96", littleEndian(std::uint64_t{1} << 40, 8)},
                                                                   {"\x8b", littleEndian(0x7fffffffu, 4)},
                                                                   {"\x95", littleEndian(std::uint64_t{1} << 40, 8)},
                                                                   {"\x8a", littleEndian(0xff, 1)},
                                                                   {"C", littleEndian(0xff, 1)},
                                                                   {"\x8c", littleEndian(0xff, 1)}};
    for (const auto &[opcode, length] : lengths) {
        const std::string pickle = std::string("\x80\x04", 2) + opcode + length + "abc.";
        CHECK_EQ(unpickleCounting(pickle).error,
                 "the pickle data ends unexpectedly at byte " + std::to_string(pickle.size()) + " (the file is truncated or corrupted)");
    }
    CHECK_EQ(unpickleCounting(std::string("\x80\x02T", 3) + littleEndian(0xffffffffu, 4) + "abc.").error,
             "BINSTRING has a negative length at byte 2" + kCorrupted);
    const std::string bomb = std::string("\x80\x04X", 3) + littleEndian(0xffffffffu, 4) + "abc.";
    const fs::path inZip = written("huge-string.pt", zipTorchFile(bomb));
    CHECK_THROWS_MESSAGE(readStateDict(inZip),
                         prefixFor(inZip) + "the pickle data ends unexpectedly at byte 11 (the file is truncated or corrupted)");
    const fs::path inLegacy = written("huge-string-legacy.pt", legacyFile(bomb));
    CHECK(errorOf([&] { readStateDict(inLegacy); }).starts_with(prefixFor(inLegacy) + "the pickle data ends unexpectedly at byte "));

    // ZIP members and directories that declare more than the file holds.
    const std::string pickle
        = PickleBytes().proto().emptyDict().str("w").tensor("FloatStorage", "0", 4, 0, {4}, {1}).setItem().stop().bytes();
    const std::string zip = zipTorchFile(pickle, {{"0", std::string(16, '\0')}});
    const fs::path hugeStorage = written("huge-member.pt", withDeclaredSize(zip, "archive/data/0", 0xfffffff0u));
    CHECK_THROWS_MESSAGE(readStateDict(hugeStorage),
                         prefixFor(hugeStorage) + "ZIP entry 'archive/data/0' extends beyond the end of the file (truncated?)");
    const fs::path hugePickle = written("huge-pickle.pt", withDeclaredSize(zip, "archive/data.pkl", 0xfffffff0u));
    CHECK_THROWS_MESSAGE(readStateDict(hugePickle),
                         prefixFor(hugePickle) + "ZIP entry 'archive/data.pkl' extends beyond the end of the file (truncated?)");
    std::string manyEntries = zip;
    manyEntries.replace(manyEntries.size() - 22 + 8, 4, littleEndian(60000, 2) + littleEndian(60000, 2));
    const fs::path entries = written("many-entries.pt", manyEntries);
    CHECK_THROWS_MESSAGE(readStateDict(entries),
                         prefixFor(entries) + "the ZIP archive is corrupted: its directory declares more entries than it can hold");
    manyEntries.replace(manyEntries.size() - 22 + 8, 4, littleEndian(0xffff, 2) + littleEndian(0xffff, 2));
    const fs::path saturated = written("saturated-entries.pt", manyEntries);
    CHECK_THROWS_MESSAGE(readStateDict(saturated),
                         prefixFor(saturated) + "the ZIP archive is corrupted: its directory needs ZIP64 records, which are missing");
    const fs::path legacyCount = written("huge-count.pt", legacyFile(pickle, {{"0", std::string(16, '\0')}}, {~std::uint64_t{0}}));
    CHECK_THROWS_MESSAGE(readStateDict(legacyCount),
                         prefixFor(legacyCount)
                             + "storage '0' should hold 4 elements, but the file says 18446744073709551615 (damaged file?)");
    // None of it touched more than a little memory.
    CHECK(peakResidentKiB() - peakBefore < 64 * 1024);
}
