package io.rafka.coordinator;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * A member's subscription pattern: RE2 syntax (as Kafka's server-side patterns, KIP-848), matched against every
 * topic name on the coordinator's one thread, so its cost must be bounded. RE2 matches in time linear in the name
 * (java.util.regex backtracks: {@code (.|.){1,300}#} over a 60-character name tries some 2^60 ways to fail and
 * would keep the coordinator busy for days), but it compiles a counted repetition into that many copies of what it
 * repeats, nested ones multiplied ({@code ((a{1,1000}){1,1000}){1,1000}} would fill any heap). So the size of the
 * compiled program is estimated from the text first and a pattern over {@link #MAX_PROGRAM} is refused.
 */
final class SubscriptionPattern {
    static final int MAX_LENGTH = 1_000;
    /**
     * Instructions the compiled pattern may have, as estimated. Real subscriptions need tens; at 10,000 RE2J compiles
     * in a few milliseconds and matches a 249-character name in well under a millisecond once warm.
     */
    static final int MAX_PROGRAM = 10_000;

    private SubscriptionPattern() {
    }

    /** The compiled pattern; IllegalArgumentException with a message for the member if it is not one we match. */
    static Pattern compile(String pattern) {
        if (pattern.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("a pattern of at most " + MAX_LENGTH + " characters");
        }
        long size = estimatedProgramSize(pattern);
        if (size > MAX_PROGRAM) {
            throw new IllegalArgumentException("subscribed pattern is too large once its repetitions are expanded"
                    + " (more than " + MAX_PROGRAM + " instructions)");
        }
        try {
            return Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("subscribed pattern is not a valid RE2 regular expression: " + e.getDescription()
                    + " at '" + e.getPattern() + "'");
        }
    }

    /**
     * An estimate of the instructions RE2 compiles {@code pattern} into: one per literal, class or operator,
     * a group's contents plus two, and a counted repetition {@code x{n,m}} as {@code max(n, m)} copies of x (an open
     * one, {@code x{n,}}, as n + 1) plus a split each, plus the program's start and end. Within a few instructions of
     * RE2J's own count for ordinary patterns, above it where repetitions nest. Saturates at {@code MAX_PROGRAM + 1};
     * text RE2 will refuse to parse is estimated too, to be refused by the compile.
     */
    static long estimatedProgramSize(String pattern) {
        long limit = MAX_PROGRAM + 1L;
        // Per open group: the size of what it holds so far, and of its last item (what a quantifier repeats).
        long[] total = new long[pattern.length() + 2];
        long[] last = new long[pattern.length() + 2];
        int depth = 0;
        int i = 0;
        int n = pattern.length();
        while (i < n) {
            char c = pattern.charAt(i);
            long item = 1;
            switch (c) {
                case '\\' -> {
                    if (i + 1 < n && pattern.charAt(i + 1) == 'Q') {
                        int end = pattern.indexOf("\\E", i + 2);
                        int stop = end < 0 ? n : end;
                        item = Math.max(1, stop - (i + 2));
                        i = end < 0 ? n : end + 2;
                    } else {
                        i = skipEscape(pattern, i);
                    }
                }
                case '[' -> i = skipClass(pattern, i);
                case '(' -> {
                    depth++;
                    total[depth] = 0;
                    last[depth] = 0;
                    i++;
                    continue;
                }
                case ')' -> {
                    if (depth == 0) {
                        return 0;  // unbalanced: RE2 refuses it
                    }
                    item = Math.min(limit, total[depth] + 2);
                    depth--;
                    i++;
                }
                case '|' -> {
                    total[depth] = Math.min(limit, total[depth] + 1);
                    last[depth] = 0;
                    i++;
                    continue;
                }
                case '*', '+', '?' -> {
                    total[depth] = Math.min(limit, total[depth] + 1);
                    i++;
                    continue;
                }
                case '{' -> {
                    int close = pattern.indexOf('}', i);
                    long count = close < 0 ? -1 : repeatCount(pattern.substring(i + 1, close));
                    if (count >= 0) {
                        long copies = Math.max(1, count);
                        long grown = Math.min(limit, last[depth] * copies + copies);
                        total[depth] = Math.min(limit, total[depth] - last[depth] + grown);
                        last[depth] = grown;
                        i = close + 1;
                        continue;
                    }
                    i++;  // a literal '{'
                }
                default -> i++;
            }
            total[depth] = Math.min(limit, total[depth] + item);
            last[depth] = item;
        }
        long size = total[0] + 2;
        for (int d = depth; d > 0; d--) {
            size = Math.min(limit, size + total[d]);  // unclosed groups: RE2 refuses them, count them all the same
        }
        return size;
    }

    /** max(n, m) of a repetition's body "n", "n," or "n,m" (n + 1 for "n,"), -1 if it is not one. */
    private static long repeatCount(String body) {
        int comma = body.indexOf(',');
        String min = comma < 0 ? body : body.substring(0, comma);
        String max = comma < 0 ? "" : body.substring(comma + 1);
        if (!digits(min) || (!max.isEmpty() && !digits(max))) {
            return -1;
        }
        long n = Long.parseLong(min.length() > 7 ? "9999999" : min);
        if (comma < 0) {
            return n;
        }
        return max.isEmpty() ? n + 1 : Math.max(n, Long.parseLong(max.length() > 7 ? "9999999" : max));
    }

    private static boolean digits(String s) {
        return !s.isEmpty() && s.chars().allMatch(ch -> ch >= '0' && ch <= '9');
    }

    /** The index after an escape at {@code i}: \p{Name}, \x{hex} and the like to their '}', else two characters. */
    private static int skipEscape(String pattern, int i) {
        if (i + 2 < pattern.length() && pattern.charAt(i + 2) == '{' && "pPx".indexOf(pattern.charAt(i + 1)) >= 0) {
            int close = pattern.indexOf('}', i + 3);
            return close < 0 ? pattern.length() : close + 1;
        }
        return Math.min(pattern.length(), i + 2);
    }

    /** The index after a character class opening at {@code i} ({@code []a]}, {@code [^]a]}, escapes, {@code [:alpha:]}). */
    private static int skipClass(String pattern, int i) {
        int j = i + 1;
        if (j < pattern.length() && pattern.charAt(j) == '^') {
            j++;
        }
        if (j < pattern.length() && pattern.charAt(j) == ']') {
            j++;
        }
        while (j < pattern.length()) {
            char c = pattern.charAt(j);
            if (c == '\\') {
                j = skipEscape(pattern, j);
            } else if (c == '[' && j + 1 < pattern.length() && pattern.charAt(j + 1) == ':') {
                int close = pattern.indexOf(":]", j + 2);
                j = close < 0 ? j + 1 : close + 2;
            } else if (c == ']') {
                return j + 1;
            } else {
                j++;
            }
        }
        return j;
    }
}
