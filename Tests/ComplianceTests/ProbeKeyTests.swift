import Compliance
import Foundation
import HallmarkSupport
import Testing

/// facts.json and policy test cases key probe outputs by `ProbeKey`'s one coding.
@Suite struct ProbeKeyTests {
    @Test(arguments: ["packages", "file:/etc/shadow", "command:echo a:b", "find:/,/home", "sysctl:", ":x", ""])
    func theCodingRoundTrips(coded: String) {
        let key = ProbeKey(coded: coded)
        #expect(key.description == coded)
        #expect(ProbeKey(coded: key.description) == key)
    }

    @Test func theArgumentIsEverythingAfterTheFirstColon() {
        #expect(ProbeKey(coded: "command:echo a:b") == ProbeKey("command", "echo a:b"))
        #expect(ProbeKey(coded: "sshd") == ProbeKey("sshd"))
    }

    @Test func factsAreAJSONObjectKeyedByTheCoding() throws {
        let facts = Facts(
            probes: [ProbeKey("file", "/etc/shadow"): ProbeOutput(exitCode: 0, stdout: "x", stderr: "")],
            source: .guest, probeSources: [ProbeKey("file", "/etc/shadow"): .image])
        let data = try JSONEncoder.hallmark.encode(facts)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((object["probes"] as? [String: Any])?.keys.sorted() == ["file:/etc/shadow"])
        #expect(object["probeSources"] as? [String: String] == ["file:/etc/shadow": "image"])
        #expect(try JSONDecoder.hallmark.decode(Facts.self, from: data) == facts)
    }
}
