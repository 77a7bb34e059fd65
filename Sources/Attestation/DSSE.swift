import Foundation
import HallmarkSupport

/// A DSSE envelope (https://github.com/secure-systems-lab/dsse, protocol v1): the payload and its
/// type, signed through the pre-authentication encoding so the type cannot be swapped.
public struct DSSEEnvelope: Codable, Sendable, Equatable {
    /// Base64 (standard alphabet, padded) of the payload bytes.
    public var payload: String
    public var payloadType: String
    public var signatures: [Signature]

    public struct Signature: Codable, Sendable, Equatable {
        /// A hint only: verification tries every signature against the given key.
        public var keyid: String?
        /// Base64 of the signature bytes.
        public var sig: String

        public init(keyid: String?, sig: String) {
            (self.keyid, self.sig) = (keyid, sig)
        }
    }

    public init(payload: Data, payloadType: String, signatures: [Signature]) {
        self.payload = payload.base64EncodedString()
        self.payloadType = payloadType
        self.signatures = signatures
    }

    /// Signs `payload` with `key` into a one-signature envelope.
    public static func sign(payload: Data, payloadType: String, with key: SigningKey) throws -> DSSEEnvelope {
        let signature = try key.signature(for: pae(payloadType: payloadType, payload: payload))
        return DSSEEnvelope(
            payload: payload, payloadType: payloadType,
            signatures: [Signature(keyid: key.publicKey.keyID, sig: signature.base64EncodedString())])
    }

    /// The pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`,
    /// lengths as ASCII decimal byte counts. This, not the payload, is what is signed.
    public static func pae(payloadType: String, payload: Data) -> Data {
        let type = Data(payloadType.utf8)
        var encoded = Data("DSSEv1 \(type.count) ".utf8)
        encoded.append(type)
        encoded.append(Data(" \(payload.count) ".utf8))
        encoded.append(payload)
        return encoded
    }

    /// The envelope as a file: pretty-printed JSON with sorted keys and a final newline.
    public func encoded() throws -> Data {
        var data = try JSONEncoder.hallmark.encode(self)
        data.append(0x0A)
        return data
    }

    /// Parses an envelope's JSON; the error says what is missing or malformed.
    public static func decode(_ data: Data) throws(EnvelopeError) -> DSSEEnvelope {
        do {
            return try JSONDecoder().decode(DSSEEnvelope.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw EnvelopeError("missing \"\(pathText(context.codingPath + [key]))\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw EnvelopeError("wrong type at \"\(pathText(context.codingPath))\": \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw EnvelopeError("null at \"\(pathText(context.codingPath))\"")
        } catch {
            throw EnvelopeError("not JSON")
        }
    }

    /// The decoded payload bytes.
    public func payloadBytes() throws(EnvelopeError) -> Data {
        guard let data = decodeBase64(payload) else { throw EnvelopeError("\"payload\" is not base64") }
        return data
    }

    private static func pathText(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
}

/// Why bytes are not a DSSE envelope.
public struct EnvelopeError: Error, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}

/// Base64 as DSSE allows it: the standard or URL-safe alphabet, padded or not.
func decodeBase64(_ text: String) -> Data? {
    var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    if normalized.count % 4 != 0 { normalized += String(repeating: "=", count: 4 - normalized.count % 4) }
    return Data(base64Encoded: normalized)
}
