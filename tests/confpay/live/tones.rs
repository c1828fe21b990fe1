//! Finding DTMF tones in a recording file, as an auditor listening to it would: a WAV reader (16-bit
//! PCM, what FreeSWITCH's mod_sndfile writes for `.wav`) and a Goertzel detector over 25 ms frames.

/// 16-bit PCM samples (channels mixed down) and the sample rate of a WAV file.
pub fn read_wav(bytes: &[u8]) -> (Vec<f64>, u32) {
    assert!(
        bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE",
        "not a WAV file"
    );
    let (mut rate, mut channels, mut bits) = (0u32, 0usize, 0u16);
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let body = &bytes[at + 8..(at + 8 + len).min(bytes.len())];
        match id {
            b"fmt " => {
                channels = u16::from_le_bytes([body[2], body[3]]).into();
                rate = u32::from_le_bytes(body[4..8].try_into().expect("4 bytes"));
                bits = u16::from_le_bytes([body[14], body[15]]);
            }
            b"data" => {
                assert_eq!(bits, 16, "16-bit PCM expected");
                let frames = body.chunks_exact(2 * channels.max(1));
                let samples = frames
                    .map(|f| {
                        let sum: f64 = f
                            .chunks_exact(2)
                            .map(|s| f64::from(i16::from_le_bytes([s[0], s[1]])))
                            .sum();
                        sum / channels.max(1) as f64
                    })
                    .collect();
                return (samples, rate);
            }
            _ => {}
        }
        at += 8 + len + (len & 1);
    }
    panic!("no data chunk");
}

const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f64; 3] = [1209.0, 1336.0, 1477.0];
const KEYS: [[char; 3]; 4] = [
    ['1', '2', '3'],
    ['4', '5', '6'],
    ['7', '8', '9'],
    ['*', '0', '#'],
];

/// The share of `frame`'s energy at `freq` (1.0 for a pure tone at that frequency).
fn share(frame: &[f64], rate: u32, freq: f64) -> f64 {
    let n = frame.len() as f64;
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in frame {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let energy: f64 = frame.iter().map(|x| x * x).sum();
    if energy == 0.0 {
        0.0
    } else {
        2.0 * power / (n * energy)
    }
}

/// The DTMF key sounding in each 25 ms frame, if any: one row and one column tone together holding
/// most of a frame that is not near-silence.
fn frame_keys(samples: &[f64], rate: u32) -> Vec<Option<char>> {
    let n = (rate / 40) as usize;
    samples
        .chunks_exact(n)
        .map(|frame| {
            let rms = (frame.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
            if rms < 200.0 {
                return None;
            }
            let best = |freqs: &[f64]| {
                freqs
                    .iter()
                    .map(|f| share(frame, rate, *f))
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .expect("frequencies")
            };
            let (r, rs) = best(&ROWS);
            let (c, cs) = best(&COLS);
            (rs > 0.2 && cs > 0.2 && rs + cs > 0.6).then_some(KEYS[r][c])
        })
        .collect()
}

/// The tones in a recording, in order, each with the second it starts at: a key sounding in at
/// least two frames in a row (50 ms) counts once.
pub fn tones(samples: &[f64], rate: u32) -> Vec<(char, f64)> {
    let keys = frame_keys(samples, rate);
    let mut found = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let Some(k) = keys[i] else {
            i += 1;
            continue;
        };
        let run = keys[i..].iter().take_while(|x| **x == Some(k)).count();
        if run >= 2 {
            found.push((k, i as f64 / 40.0));
        }
        i += run;
    }
    found
}

#[test]
fn finds_a_synthetic_tone_and_nothing_in_silence() {
    let rate = 8000;
    let tone = |lo: f64, hi: f64, secs: f64| -> Vec<f64> {
        (0..(secs * f64::from(rate)) as usize)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                4000.0
                    * ((2.0 * std::f64::consts::PI * lo * t).sin()
                        + (2.0 * std::f64::consts::PI * hi * t).sin())
            })
            .collect()
    };
    let mut samples = vec![0.0; 4000];
    samples.extend(tone(770.0, 1336.0, 0.3));
    samples.extend(vec![0.0; 4000]);
    samples.extend(tone(852.0, 1209.0, 0.3));
    let found: Vec<char> = tones(&samples, rate).into_iter().map(|(k, _)| k).collect();
    assert_eq!(found, ['5', '7']);
    // A single tone (hold music, 440 Hz) is no key.
    let music = tone(440.0, 440.0, 1.0);
    assert!(tones(&music, rate).is_empty());
}
