//! Unit and property tests of the segmenter on a small hand-made dictionary. The expected words
//! were produced by jieba 0.42.1 (`jieba.Tokenizer(dictionary=...)`) on the same dictionary.

use std::io::Cursor;

use proptest::prelude::*;

use super::*;
use crate::cancel::Cancel;

const SMALL: &str = "我 100 r\n爱 50 v\n北京 30 ns\n天安门 20 ns\n天安 1 ns\n北京大学 8 nt\n\
大学 25 n\n学生 12 n\n大学生 6 n\n生活 10 n\n研究 15 v\n研究生 9 n\n生命 7 n\n命 2 n\n\
的 200 uj\n起源 5 n\na股 3 n\nab 4 eng\n";

fn small() -> Segmenter {
    Segmenter::from_reader(Cursor::new(SMALL), "small.txt").unwrap()
}

fn check(seg: &Segmenter, text: &str, accurate: &[&str], full: &[&str]) {
    assert_eq!(seg.cut(text, false), accurate, "accurate mode of {text:?}");
    assert_eq!(seg.cut(text, true), full, "full mode of {text:?}");
}

#[test]
fn segmenter_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Segmenter>();
    send_sync::<std::sync::Arc<Segmenter>>();
    let seg = std::sync::Arc::new(small());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let seg = std::sync::Arc::clone(&seg);
            std::thread::spawn(move || seg.cut("我爱北京天安门", false))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), ["我", "爱", "北京", "天安门"]);
    }
}

#[test]
fn reads_the_dictionary_like_jieba() {
    let seg = small();
    assert_eq!(seg.total(), 507);
    assert_eq!(seg.table_freq("北京"), Some(30));
    assert_eq!(seg.table_freq("北京大"), Some(0));
    assert_eq!(seg.table_freq("上海"), None);
}

#[test]
fn cuts_like_jieba_without_hmm() {
    let seg = small();
    check(
        &seg,
        "我爱北京天安门",
        &["我", "爱", "北京", "天安门"],
        &["我", "爱", "北京", "天安", "天安门"],
    );
    check(
        &seg,
        "北京大学生活",
        &["北京大学", "生活"],
        &["北京", "北京大学", "大学", "大学生", "学生", "生活"],
    );
    check(
        &seg,
        "研究生命的起源",
        &["研究", "生命", "的", "起源"],
        &["研究", "研究生", "生命", "的", "起源"],
    );
    check(
        &seg,
        "abc a股 ab1",
        &["ab", "c", " ", "a股", " ", "ab", "1"],
        &["abc", "", " ", "", "a股", "", " ", "", "ab1"],
    );
    check(&seg, "我x爱", &["我", "x", "爱"], &["我", "x", "爱"]);
    check(
        &seg,
        "天安天安门",
        &["天安", "天安门"],
        &["天安", "天安", "天安门"],
    );
    check(&seg, "a1b北京", &["a1b", "北京"], &["a1b", "北京"]);
    check(
        &seg,
        "大学生命",
        &["大学", "生命"],
        &["大学", "大学生", "学生", "生命"],
    );
    let punct = ["ab", "-", "cd", "_", "e", ".", "f", "%", "g"];
    check(&seg, "ab-cd_e.f%g", &punct, &punct);
    check(&seg, "", &[], &[]);
    check(
        &seg,
        " 北京 \r\n 大学\t",
        &[" ", "北京", " ", "\r\n", " ", "大学", "\t"],
        &[
            "", " ", "", "北京", "", " ", "", "\r\n", "", " ", "", "大学", "", "\t", "",
        ],
    );
}

#[test]
fn user_words_follow_jieba() {
    let mut seg = small();
    assert_eq!(seg.suggest_freq("北京大"), 1);
    assert_eq!(seg.suggest_freq("大学生"), 7);
    assert_eq!(seg.suggest_freq("命的"), 1);
    assert_eq!(seg.add_word("研究生命", None).unwrap(), 1);
    assert_eq!(seg.total(), 508);
    assert_eq!(seg.cut("研究生命的起源", false), ["研究生命", "的", "起源"]);
    seg.del_word("研究生命").unwrap();
    assert_eq!(seg.total(), 508);
    assert_eq!(
        seg.cut("研究生命的起源", false),
        ["研究", "生命", "的", "起源"]
    );
    assert!(seg.add_word("", Some(3)).is_err());
}

#[test]
fn loads_a_user_dictionary() {
    let mut seg = small();
    let user = "\u{feff}研究生命 50 n\n\n云 计算 3\n";
    seg.load_userdict_reader(Cursor::new(user), "user.txt")
        .unwrap();
    assert_eq!(seg.table_freq("研究生命"), Some(50));
    assert_eq!(seg.table_freq("云 计算"), Some(3));
    assert_eq!(seg.total(), 560);
    assert_eq!(seg.cut("研究生命", false), ["研究生命"]);
}

#[test]
fn malformed_dictionaries_name_the_line() {
    let err = Segmenter::from_reader(Cursor::new("北京 3\n大学\n"), "d.txt").unwrap_err();
    assert!(err.to_string().starts_with("d.txt:2:"), "{err}");
    let err = Segmenter::from_reader(Cursor::new("北京 x\n"), "d.txt").unwrap_err();
    assert!(err.to_string().starts_with("d.txt:1:"), "{err}");
    let err = Segmenter::from_reader(Cursor::new(&b"\xff 3\n"[..]), "d.txt").unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn empty_dictionary_cuts_characters() {
    let seg = Segmenter::new();
    assert_eq!(seg.cut("北京ab c", false), ["北", "京", "ab", " ", "c"]);
}

#[test]
fn reentrant_callbacks_get_their_own_scratch() {
    let seg = small();
    let mut inner = Vec::new();
    seg.for_each_word("北京大学生活", &mut |w| {
        inner.push(seg.cut(w, false).len());
    });
    assert_eq!(inner, [1, 1]);
}

#[test]
fn files_are_segmented_in_order() {
    let seg = small();
    let input = "我爱北京天安门\r\n\n研究生命 的起源\nab";
    let mut out = Vec::new();
    let opts = JoinOptions {
        cut_all: false,
        delimiter: "/".into(),
        drop_whitespace: false,
    };
    let stats = seg
        .segment_lines(
            &mut Cursor::new(input),
            "in.txt",
            &mut out,
            "out.txt",
            &opts,
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "我/爱/北京/天安门\n\n研究/生命/ /的/起源\nab"
    );
    assert_eq!(stats.lines, 4);
    let mut out = Vec::new();
    let dropping = JoinOptions {
        cut_all: true,
        delimiter: " ".into(),
        drop_whitespace: true,
    };
    seg.segment_lines(
        &mut Cursor::new("ab c\u{3000}北京 \n"),
        "in.txt",
        &mut out,
        "out.txt",
        &dropping,
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "ab c 北京\n");
    let mut out = Vec::new();
    let err = seg
        .segment_lines(
            &mut Cursor::new(&b"ok\n\xffbad\n"[..]),
            "in.txt",
            &mut out,
            "out.txt",
            &opts,
            &Cancel::new(),
        )
        .unwrap_err();
    assert!(err.to_string().starts_with("in.txt:2:"), "{err}");
}

#[test]
fn batches_keep_input_order() {
    let seg = small();
    let texts: Vec<String> = (0..500).map(|i| format!("{i}北京大学生活")).collect();
    let lists = seg.cut_batch(&texts, false);
    for (text, list) in texts.iter().zip(&lists) {
        assert_eq!(list.iter().collect::<Vec<_>>(), seg.cut(text, false));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn accurate_words_concatenate_to_the_input(
        text in "[我爱北京天安门大学生活研究命的起源ab1 \r\n\t.%\\-x\u{3000}😀\u{0}]{0,40}|\\PC{0,40}"
    ) {
        let seg = small();
        let words = seg.cut(&text, false);
        prop_assert_eq!(words.concat(), text.clone());
        prop_assert!(words.iter().all(|w| !w.is_empty()));
        // Full mode never panics and only yields substrings of the input or glued ASCII runs.
        for w in seg.cut(&text, true) {
            prop_assert!(w.chars().all(|c| text.contains(c)));
        }
    }

    #[test]
    fn parallel_batches_equal_sequential_cuts(texts in proptest::collection::vec("\\PC{0,12}", 0..20)) {
        let seg = small();
        for cut_all in [false, true] {
            let lists = seg.cut_batch(&texts, cut_all);
            for (t, l) in texts.iter().zip(&lists) {
                prop_assert_eq!(l.iter().collect::<Vec<_>>(), seg.cut(t, cut_all));
            }
        }
    }
}
