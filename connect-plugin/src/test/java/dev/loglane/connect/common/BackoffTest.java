package dev.loglane.connect.common;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BackoffTest {

    @Test
    void doublesUpToCap() {
        Backoff b = new Backoff(500, 3000);
        assertEquals(500, b.delayMs(0));
        assertEquals(1000, b.delayMs(1));
        assertEquals(2000, b.delayMs(2));
        assertEquals(3000, b.delayMs(3));
        assertEquals(3000, b.delayMs(40));
        assertEquals(3000, b.delayMs(Integer.MAX_VALUE));
    }

    @Test
    void zeroAndOverflow() {
        assertEquals(0, new Backoff(0, 100).delayMs(5));
        assertEquals(Long.MAX_VALUE, new Backoff(Long.MAX_VALUE / 2, Long.MAX_VALUE).delayMs(3));
        assertEquals(700, new Backoff(700, 10).delayMs(2), "cap below initial means initial");
    }
}
