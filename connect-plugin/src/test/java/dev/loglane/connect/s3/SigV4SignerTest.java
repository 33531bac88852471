package dev.loglane.connect.s3;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Vectors from the AWS documentation "Signature Calculations for the Authorization Header: Transferring Payload in
 * a Single Chunk (AWS Signature Version 4)" (Amazon S3 API reference), which uses
 * AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, us-east-1, 20130524T000000Z.
 */
class SigV4SignerTest {

    static final SigV4Signer SIGNER = new SigV4Signer("AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3");
    static final Instant TIME = Instant.parse("2013-05-24T00:00:00Z");
    static final String HOST = "examplebucket.s3.amazonaws.com";

    @Test
    void awsExampleGetObject() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", HOST);
        headers.put("Range", "bytes=0-9");
        headers.put("x-amz-content-sha256", SigV4Signer.EMPTY_PAYLOAD_SHA256);
        headers.put("x-amz-date", "20130524T000000Z");
        SigV4Signer.Signature sig = SIGNER.sign("GET", "/test.txt", Collections.emptyMap(), headers,
                SigV4Signer.EMPTY_PAYLOAD_SHA256, TIME);

        assertEquals("GET\n/test.txt\n\n"
                + "host:examplebucket.s3.amazonaws.com\n"
                + "range:bytes=0-9\n"
                + "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                + "x-amz-date:20130524T000000Z\n\n"
                + "host;range;x-amz-content-sha256;x-amz-date\n"
                + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sig.canonicalRequest());
        assertEquals("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                + "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972", sig.stringToSign());
        assertEquals("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", sig.signature());
        assertEquals("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", sig.authorization());
    }

    @Test
    void awsExamplePutObject() {
        byte[] payload = "Welcome to Amazon S3.".getBytes(StandardCharsets.UTF_8);
        String payloadHash = SigV4Signer.sha256Hex(payload);
        assertEquals("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", payloadHash);

        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", HOST);
        headers.put("Date", "Fri, 24 May 2013 00:00:00 GMT");
        headers.put("x-amz-date", "20130524T000000Z");
        headers.put("x-amz-storage-class", "REDUCED_REDUNDANCY");
        headers.put("x-amz-content-sha256", payloadHash);
        String path = SigV4Signer.encodePath("/test$file.text");
        assertEquals("/test%24file.text", path);
        SigV4Signer.Signature sig = SIGNER.sign("PUT", path, Collections.emptyMap(), headers, payloadHash, TIME);

        assertEquals("PUT\n/test%24file.text\n\n"
                + "date:Fri, 24 May 2013 00:00:00 GMT\n"
                + "host:examplebucket.s3.amazonaws.com\n"
                + "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
                + "x-amz-date:20130524T000000Z\n"
                + "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
                + "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
                + "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", sig.canonicalRequest());
        assertEquals("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                + "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d", sig.stringToSign());
        assertEquals("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", sig.signature());
    }

    @Test
    void awsExampleListObjectsWithQuery() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("host", HOST);
        headers.put("x-amz-date", "20130524T000000Z");
        headers.put("x-amz-content-sha256", SigV4Signer.EMPTY_PAYLOAD_SHA256);
        Map<String, String> query = new LinkedHashMap<>();
        query.put("prefix", "J");
        query.put("max-keys", "2");
        SigV4Signer.Signature sig = SIGNER.sign("GET", "/", query, headers, SigV4Signer.EMPTY_PAYLOAD_SHA256, TIME);
        assertEquals("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", sig.signature());

        SigV4Signer.Signature lifecycle = SIGNER.sign("GET", "/", Collections.singletonMap("lifecycle", ""), headers,
                SigV4Signer.EMPTY_PAYLOAD_SHA256, TIME);
        assertEquals("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", lifecycle.signature());
    }

    @Test
    void uriEncoding() {
        assertEquals("/bucket/logs/app%2Blogs%3D1/year%3D2024/a%20b/%C3%A9~_-.txt",
                SigV4Signer.encodePath("/bucket/logs/app+logs=1/year=2024/a b/é~_-.txt"));
        assertEquals("a%2Fb%3D", SigV4Signer.uriEncode("a/b=", true));
        assertEquals("a=1&b%20c=%2F", SigV4Signer.canonicalQuery(Map.of("b c", "/", "a", "1")));
    }

    @Test
    void headerValuesAreTrimmedAndSpacesCollapsed() {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("Host", HOST);
        a.put("x-amz-meta-note", "  two   spaces ");
        Map<String, String> b = new LinkedHashMap<>();
        b.put("host", HOST);
        b.put("X-Amz-Meta-Note", "two spaces");
        assertEquals(SIGNER.sign("PUT", "/k", Map.of(), a, SigV4Signer.EMPTY_PAYLOAD_SHA256, TIME).signature(),
                SIGNER.sign("PUT", "/k", Map.of(), b, SigV4Signer.EMPTY_PAYLOAD_SHA256, TIME).signature());
    }
}
