// Values decoded through BTF, histograms drawn as the BCC tools draw them, maps as tables: exact
// text, with the BTF of the compiled opensnoop tool.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "bpfvm/object.hpp"
#include "bpfvm/observe.hpp"

namespace bpfvm::observe {
namespace {

std::string tool(const char* name) { return std::string(BPFVM_TOOLS_BUILD_DIR) + "/" + name + ".bpf.o"; }

/// opensnoop's struct event: pid, tid, uid, ret, flags, comm[16], fname[256].
std::vector<uint8_t> open_event(int32_t ret, const char* comm, const char* fname) {
    std::vector<uint8_t> e(20 + 16 + 256, 0);
    const uint32_t head[5] = {12, 13, 0, static_cast<uint32_t>(ret), 577};
    std::memcpy(e.data(), head, sizeof head);
    std::memcpy(e.data() + 20, comm, std::strlen(comm));
    std::memcpy(e.data() + 36, fname, std::strlen(fname));
    return e;
}

class OpensnoopBtf : public ::testing::Test {
protected:
    void SetUp() override {
        auto file = load_object(tool("opensnoop"));
        ASSERT_TRUE(file.has_value()) << file.error().to_string();
        object_ = std::move(*file);
        ASSERT_NE(object_.btf, nullptr);
        event_ = find_struct(*object_.btf, "event");
        ASSERT_NE(event_, 0u);
    }
    ObjectFile object_;
    uint32_t event_ = 0;
};

TEST_F(OpensnoopBtf, StructAsTextJsonAndFields) {
    const auto e = open_event(-2, "cat", "/etc/passwd");
    EXPECT_EQ(format_value(*object_.btf, event_, e),
              "{pid=12 tid=13 uid=0 ret=-2 flags=577 comm=cat fname=/etc/passwd}");
    EXPECT_EQ(format_json(*object_.btf, event_, e),
              "{\"pid\":12,\"tid\":13,\"uid\":0,\"ret\":-2,\"flags\":577,\"comm\":\"cat\",\"fname\":\"/etc/passwd\"}");
    const auto fields = format_fields(*object_.btf, event_, e);
    ASSERT_EQ(fields.size(), 7u);
    EXPECT_EQ(fields[3], (std::pair<std::string, std::string>{"ret", "-2"}));
    EXPECT_EQ(fields[6], (std::pair<std::string, std::string>{"fname", "/etc/passwd"}));
    EXPECT_EQ(integer_field(*object_.btf, event_, e, "pid"), 12);
    EXPECT_EQ(integer_field(*object_.btf, event_, e, "nope"), std::nullopt);
}

TEST_F(OpensnoopBtf, StringsWithSpacesAreQuotedAndShortRecordsShowQuestionMarks) {
    const auto e = open_event(3, "my tool", "a \"b\"");
    EXPECT_EQ(format_value(*object_.btf, event_, e),
              "{pid=12 tid=13 uid=0 ret=3 flags=577 comm=\"my tool\" fname=\"a \\\"b\\\"\"}");
    const std::vector<uint8_t> shorter(e.begin(), e.begin() + 10);
    EXPECT_EQ(format_value(*object_.btf, event_, shorter), "{pid=12 tid=13 uid=? ret=? flags=? comm=? fname=?}");
}

TEST_F(OpensnoopBtf, RecordTypeComesFromTheRingBuffersValueType) {
    const MapSpec* events = object_.find_map("events");
    ASSERT_NE(events, nullptr);
    EXPECT_EQ(guess_record_type(*object_.btf, *events, 292), event_);
}

TEST_F(OpensnoopBtf, PaddedPerfRecordsStillFindTheirStruct) {
    MapSpec perf;  // a perf event array declares no value type: the record size decides
    perf.name = "perf";
    perf.type = MapType::PerfEventArray;
    EXPECT_EQ(guess_record_type(*object_.btf, perf, 292), event_);
    EXPECT_EQ(guess_record_type(*object_.btf, perf, 296), event_) << "perf pads records to 8 bytes";
    EXPECT_EQ(guess_record_type(*object_.btf, perf, 300), 0u);
}

TEST(Histograms, Log2AsBccPrintsIt) {
    const std::vector<uint64_t> counts = {0, 2, 4, 1};
    EXPECT_EQ(format_log2_histogram(counts, "usecs"),
              "     usecs               : count    distribution\n"
              "         0 -> 1          : 0        |                                        |\n"
              "         2 -> 3          : 2        |********************                    |\n"
              "         4 -> 7          : 4        |****************************************|\n"
              "         8 -> 15         : 1        |**********                              |\n");
    EXPECT_EQ(format_log2_histogram(std::vector<uint64_t>{0, 0}, "usecs"), "");
}

TEST(Histograms, LinearShowsOnlyNonEmptySlots) {
    const std::vector<uint64_t> counts = {0, 3, 0, 1};
    EXPECT_EQ(format_linear_histogram(counts, 0, 10, "msecs"),
              "     msecs         : count     distribution\n"
              "        10         : 3        |****************************************|\n"
              "        30         : 1        |*************                           |\n");
}

MapSnapshot slot_map(const std::string& name) {
    MapSnapshot m;
    m.name = name;
    m.type = MapType::Array;
    m.key_size = 4;
    m.value_size = 8;
    for (uint32_t slot = 0; slot < 4; ++slot) {
        std::vector<uint8_t> key(4, 0), value(8, 0);
        key[0] = static_cast<uint8_t>(slot);
        value[0] = static_cast<uint8_t>(slot == 2 ? 5 : 0);
        m.entries.emplace_back(key, value);
    }
    return m;
}

TEST(Histograms, DetectedByNameWithUnit) {
    auto log2 = detect_histogram(slot_map("runqlat_hist_usecs"));
    ASSERT_TRUE(log2.has_value());
    EXPECT_EQ(log2->kind, HistogramKind::Log2);
    EXPECT_EQ(log2->unit, "usecs");
    auto linear = detect_histogram(slot_map("size_lin_hist_bytes"));
    ASSERT_TRUE(linear.has_value());
    EXPECT_EQ(linear->kind, HistogramKind::Linear);
    EXPECT_EQ(linear->unit, "bytes");
    EXPECT_FALSE(detect_histogram(slot_map("counts")).has_value());
    EXPECT_EQ(format_map(slot_map("lat_hist_nsecs")),
              "\nlat_hist_nsecs:\n"
              "     nsecs               : count    distribution\n"
              "         0 -> 1          : 0        |                                        |\n"
              "         2 -> 3          : 0        |                                        |\n"
              "         4 -> 7          : 5        |****************************************|\n");
}

TEST_F(OpensnoopBtf, HashMapAsATableWithBtfColumns) {
    const MapSpec* opens = object_.find_map("opens_total");
    ASSERT_NE(opens, nullptr);
    MapSnapshot m;
    m.name = "opens_total";
    m.type = MapType::Hash;
    m.key_size = 16;
    m.value_size = 8;
    m.btf = object_.btf;
    m.key_type = opens->btf_key_type_id;
    m.value_type = opens->btf_value_type_id;
    auto entry = [](const char* comm, uint8_t n) {
        std::vector<uint8_t> key(16, 0), value(8, 0);
        std::memcpy(key.data(), comm, std::strlen(comm));
        value[0] = n;
        return std::pair{key, value};
    };
    m.entries = {entry("cat", 3), entry("ls", 10)};
    EXPECT_EQ(format_map(m), "\nopens_total (hash, 2 entries):\nKEY  VALUE\ncat  3\nls   10\n");
    EXPECT_EQ(format_map_json(m),
              "{\"map\":\"opens_total\",\"type\":\"hash\",\"entries\":[{\"key\":\"cat\",\"value\":3},{\"key\":\"ls\","
              "\"value\":10}]}");
    MapPrintOptions few;
    few.max_rows = 1;
    EXPECT_EQ(format_map(m, few), "\nopens_total (hash, 2 entries):\nKEY  VALUE\ncat  3\n... 1 more\n");
}

TEST(Tables, ZeroArrayEntriesAreHiddenAndPerCpuCountersSummed) {
    MapSnapshot m;
    m.name = "stats";
    m.type = MapType::PercpuArray;
    m.key_size = 4;
    m.value_size = 8;
    m.cpus = 2;
    std::vector<uint8_t> k0(4, 0), k1 = {1, 0, 0, 0};
    std::vector<uint8_t> v0(16, 0), v1(16, 0);
    v1[0] = 2;
    v1[8] = 3;
    m.entries = {{k0, v0}, {k1, v1}};
    EXPECT_EQ(m.integer_value(1), 5u);
    EXPECT_EQ(format_map(m), "\nstats (percpu_array, 2 entries):\nKEY  VALUE\n1    5\n");
}

}  // namespace
}  // namespace bpfvm::observe
