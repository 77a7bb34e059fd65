import Testing

@testable import HallmarkModel

@Suite struct DebianVersionTests {
    /// Pairs from dpkg's own test suite and Debian policy §5.6.12: (lower, higher).
    @Test(arguments: [
        ("1.0", "1.1"), ("1.0~rc1", "1.0"), ("1.0~~", "1.0~"), ("1.0", "1.0+b1"), ("1.0", "1.0a"), ("1.0a", "1.0+"),
        ("2.4", "2.30"), ("1.0-1", "1.0-2"), ("1.0-9", "1.0-10"), ("2.0", "1:0.9"), ("9.2", "9.2p1"),
        ("1:9.2p1-2", "1:9.2p1-2+deb12u3"), ("3.0.11-1~deb12u1", "3.0.15-1~deb12u1"), ("1.0~", "1.0"), ("0.9", "1.0~alpha"),
        ("1.2.3-0ubuntu1", "1.2.3-1"), ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"),
    ])
    func ordering(lower: String, higher: String) throws {
        let a = try #require(DebianVersion(lower)), b = try #require(DebianVersion(higher))
        #expect(a < b, "\(lower) < \(higher)")
        #expect(b > a)
        #expect(DebianVersion.compare(a, b) == -1 && DebianVersion.compare(b, a) == 1)
    }

    @Test(arguments: [("1.0", "0:1.0"), ("1.2.3", "1.2.3-0"), ("1.01", "1.1"), ("1:2.0-1", "1:2.0-1")])
    func equality(a: String, b: String) throws {
        #expect(try #require(DebianVersion(a)) == (try #require(DebianVersion(b))))
    }

    @Test func partsAreSplitAsDpkgDoes() throws {
        let version = try #require(DebianVersion("1:2.30-1-2"))
        #expect(version.epoch == 1 && version.upstream == "2.30-1" && version.revision == "2")
        #expect(version.description == "1:2.30-1-2")
    }

    @Test(arguments: ["", "a1.0", "x:1.0", "1:", "1.0-", "1.0 2", "-1:1.0", "1.0_1"])
    func invalidVersionsAreRejected(text: String) {
        #expect(DebianVersion(text) == nil, "\(text)")
    }

    @Test func constraints() throws {
        let constraint = try #require(VersionConstraint(">= 1:9.2"))
        #expect(constraint.isSatisfied(by: try #require(DebianVersion("1:9.2p1-2+deb12u3"))))
        #expect(!constraint.isSatisfied(by: try #require(DebianVersion("1:8.4p1-5"))))
        #expect(!constraint.isSatisfied(by: try #require(DebianVersion("9.9"))))  // epoch 0 < 1
        let range = try #require(VersionConstraint(">= 3.0.11, << 3.1"))
        #expect(range.isSatisfied(by: try #require(DebianVersion("3.0.15-1~deb12u1"))))
        #expect(!range.isSatisfied(by: try #require(DebianVersion("3.1.0-1"))))
        #expect(try #require(VersionConstraint("> 1.0")).isSatisfied(by: try #require(DebianVersion("1.0-1"))))
        #expect(!(try #require(VersionConstraint("> 1.0")).isSatisfied(by: try #require(DebianVersion("1.0")))))
        #expect(try #require(VersionConstraint("!= 1.0")).isSatisfied(by: try #require(DebianVersion("1.0.1"))))
        #expect(try #require(VersionConstraint("= 0:1.0")).isSatisfied(by: try #require(DebianVersion("1.0"))))
        #expect(VersionConstraint("1.0") == nil)
        #expect(VersionConstraint(">= ") == nil)
        #expect(VersionConstraint("~> 1.0") == nil)
    }
}
