import Testing

@testable import JarvisIdentity

@Suite struct BearerCredentialTests {
    @Test(arguments: [
        ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER abc", "abc"), ("  Bearer    abc \t", "abc"),
        ("Bearer a b", "a b"),
    ])
    func theSchemeIsCaseInsensitiveAndSpacesAreIgnored(header: String, credential: String) {
        #expect(Authenticator.bearerCredential(header).map(String.init) == credential)
    }

    @Test(arguments: ["Basic abc", "Bearer", "Bearer ", "Bearer    ", "Bearerabc", "Bearer\tabc", "", "Béarer abc", "Bearer\u{301} abc"])
    func otherSchemesAndEmptyCredentialsAreRefused(header: String) {
        #expect(Authenticator.bearerCredential(header) == nil)
    }
}
