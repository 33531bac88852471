package dev.loglane.connect.s3;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * AWS Signature Version 4 ("AWS4-HMAC-SHA256") for requests signed in the Authorization header.
 * See the AWS documentation "Signature Calculations for the Authorization Header".
 */
public final class SigV4Signer {

    public static final String ALGORITHM = "AWS4-HMAC-SHA256";
    /** SHA-256 of the empty string. */
    public static final String EMPTY_PAYLOAD_SHA256 =
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final String accessKeyId;
    private final byte[] secretKeyBytes;
    private final String region;
    private final String service;

    public SigV4Signer(String accessKeyId, String secretAccessKey, String region, String service) {
        this.accessKeyId = accessKeyId;
        this.secretKeyBytes = ("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8);
        this.region = region;
        this.service = service;
    }

    /** The pieces of one signature; {@link #authorization()} is the Authorization header value. */
    public static final class Signature {
        private final String canonicalRequest;
        private final String stringToSign;
        private final String signature;
        private final String authorization;

        Signature(String canonicalRequest, String stringToSign, String signature, String authorization) {
            this.canonicalRequest = canonicalRequest;
            this.stringToSign = stringToSign;
            this.signature = signature;
            this.authorization = authorization;
        }

        public String canonicalRequest() {
            return canonicalRequest;
        }

        public String stringToSign() {
            return stringToSign;
        }

        public String signature() {
            return signature;
        }

        public String authorization() {
            return authorization;
        }

        @Override
        public String toString() {
            return "Signature[" + signature + "]";
        }
    }

    public static String amzDate(Instant instant) {
        return AMZ_DATE.format(instant);
    }

    /**
     * Signs a request.
     *
     * @param method       HTTP method
     * @param canonicalUri the URI path exactly as sent, already URI-encoded (see {@link #encodePath})
     * @param query        query parameters, not encoded (may be empty)
     * @param headers      every header to sign, including {@code host} and {@code x-amz-date} (whose value must be
     *                     {@link #amzDate(Instant)} of {@code time}); names are case-insensitive
     * @param payloadHash  hex SHA-256 of the body (also sent as {@code x-amz-content-sha256})
     * @param time         request time
     */
    public Signature sign(String method, String canonicalUri, Map<String, String> query, Map<String, String> headers,
                          String payloadHash, Instant time) {
        String amzDate = amzDate(time);
        String dateStamp = amzDate.substring(0, 8);

        TreeMap<String, String> canonicalHeaders = new TreeMap<>();
        for (Map.Entry<String, String> h : headers.entrySet()) {
            String name = h.getKey().toLowerCase(Locale.ROOT).trim();
            String value = h.getValue().trim().replaceAll(" +", " ");
            canonicalHeaders.merge(name, value, (a, b) -> a + "," + b);
        }
        StringBuilder headerBlock = new StringBuilder();
        for (Map.Entry<String, String> h : canonicalHeaders.entrySet()) {
            headerBlock.append(h.getKey()).append(':').append(h.getValue()).append('\n');
        }
        String signedHeaders = String.join(";", canonicalHeaders.keySet());

        String canonicalRequest = method + '\n'
                + (canonicalUri.isEmpty() ? "/" : canonicalUri) + '\n'
                + canonicalQuery(query) + '\n'
                + headerBlock + '\n'
                + signedHeaders + '\n'
                + payloadHash;

        String scope = dateStamp + '/' + region + '/' + service + "/aws4_request";
        String stringToSign = ALGORITHM + '\n'
                + amzDate + '\n'
                + scope + '\n'
                + sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));

        byte[] kDate = hmac(secretKeyBytes, dateStamp);
        byte[] kRegion = hmac(kDate, region);
        byte[] kService = hmac(kRegion, service);
        byte[] kSigning = hmac(kService, "aws4_request");
        String signature = hex(hmac(kSigning, stringToSign));

        String authorization = ALGORITHM + " Credential=" + accessKeyId + '/' + scope
                + ",SignedHeaders=" + signedHeaders + ",Signature=" + signature;
        return new Signature(canonicalRequest, stringToSign, signature, authorization);
    }

    static String canonicalQuery(Map<String, String> query) {
        if (query == null || query.isEmpty()) {
            return "";
        }
        List<String[]> pairs = new ArrayList<>();
        for (Map.Entry<String, String> e : query.entrySet()) {
            pairs.add(new String[]{uriEncode(e.getKey(), true), uriEncode(e.getValue() == null ? "" : e.getValue(), true)});
        }
        pairs.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
        StringBuilder sb = new StringBuilder();
        for (String[] p : pairs) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(p[0]).append('=').append(p[1]);
        }
        return sb.toString();
    }

    /** URI-encodes a path: every byte except unreserved characters and '/' becomes %XX. */
    public static String encodePath(String path) {
        return uriEncode(path, false);
    }

    /** RFC 3986 encoding as SigV4 defines it: unreserved characters (A-Z a-z 0-9 - _ . ~) are kept. */
    public static String uriEncode(String s, boolean encodeSlash) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length + 16);
        for (byte b : bytes) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash)) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(HEX[c >> 4])).append(Character.toUpperCase(HEX[c & 0xF]));
            }
        }
        return sb.toString();
    }

    public static String sha256Hex(byte[] data) {
        try {
            return hex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 not available", e);
        }
    }

    static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 not available", e);
        }
    }

    static String hex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = HEX[(bytes[i] >> 4) & 0xF];
            out[2 * i + 1] = HEX[bytes[i] & 0xF];
        }
        return new String(out);
    }

    @Override
    public String toString() {
        return "SigV4Signer[accessKeyId=" + accessKeyId + ", region=" + region + ", service=" + service + "]";
    }
}
