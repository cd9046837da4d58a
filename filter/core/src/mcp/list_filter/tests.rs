//! `tools/list` filtering: JSON bodies, event streams, and the bodies refused.

use super::*;
use serde_json::{json, Value};

const JSON: &str = "application/json";
const SSE: &str = "text/event-stream";

/// Tools named `read*` are allowed.
fn readers(name: &str) -> bool {
    name.starts_with("read")
}

/// The filtered body as text; `None` when unchanged.
fn run(body: &str, content_type: &str) -> Result<Option<String>, ListFilterError> {
    filter_tools_list(body.as_bytes(), content_type, &readers)
        .map(|out| out.map(|bytes| String::from_utf8(bytes).unwrap()))
}

/// The names of `result.tools` in a JSON text.
fn names(text: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(text).unwrap();
    value["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_string())
        .collect()
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}},{"name":"delete_file","description":"rm"},{"name":"read_dir"}],"nextCursor":"c2"}}"#;

#[test]
fn removes_tools_that_are_not_allowed_and_keeps_the_rest_byte_for_byte() {
    let out = run(LIST, JSON).unwrap().unwrap();
    assert_eq!(
        out,
        r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}},{"name":"read_dir"}],"nextCursor":"c2"}}"#
    );
}

#[test]
fn unchanged_when_every_tool_is_allowed() {
    let all = |_: &str| true;
    assert_eq!(filter_tools_list(LIST.as_bytes(), JSON, &all), Ok(None));
    let body = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#;
    assert_eq!(run(body, JSON), Ok(None));
}

#[test]
fn every_tool_removed_leaves_an_empty_list() {
    let none = |_: &str| false;
    let out = filter_tools_list(LIST.as_bytes(), JSON, &none)
        .unwrap()
        .unwrap();
    let value: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(value["result"]["tools"], json!([]));
    assert_eq!(value["result"]["nextCursor"], json!("c2"));
}

#[test]
fn member_order_whitespace_and_numbers_are_kept() {
    let body = "{\n  \"result\" : {\n    \"nextCursor\": null,\n    \"tools\" : [\n      {\"name\": \"read\", \"n\": 1.50e3},\n      {\"name\": \"write\"}\n    ],\n    \"_meta\": {\"z\": 1, \"a\": 2}\n  },\n  \"id\": 12345678901234567890,\n  \"jsonrpc\": \"2.0\"\n}\n";
    let out = run(body, JSON).unwrap().unwrap();
    assert_eq!(
        out,
        "{\n  \"result\" : {\n    \"nextCursor\": null,\n    \"tools\" : [{\"name\": \"read\", \"n\": 1.50e3}],\n    \"_meta\": {\"z\": 1, \"a\": 2}\n  },\n  \"id\": 12345678901234567890,\n  \"jsonrpc\": \"2.0\"\n}\n"
    );
}

#[test]
fn content_type_parameters_and_case_are_ignored() {
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        " application/json ;charset=UTF-8",
    ] {
        assert!(run(LIST, content_type).unwrap().is_some(), "{content_type}");
    }
    assert!(run("data: {}\n\n", "Text/Event-Stream; charset=utf-8")
        .unwrap()
        .is_none());
}

#[test]
fn other_content_types_are_refused() {
    for content_type in [
        "",
        "text/plain",
        "application/json-seq",
        "application/x-json",
    ] {
        assert_eq!(
            run(LIST, content_type),
            Err(ListFilterError::UnsupportedContentType),
            "{content_type}"
        );
    }
}

#[test]
fn entries_without_exactly_one_string_name_are_removed() {
    let body = r#"{"result":{"tools":[{"name":"read_a"},{"name":7},{"title":"read_b"},"read_c",null,[{"name":"read_d"}],{"name":"read_e","name":"delete"},{"name":"delete","name":"read_f"},{"name":"\u0072ead_g"},{"name":"read_\ud800"}]}}"#;
    let out = run(body, JSON).unwrap().unwrap();
    assert_eq!(
        out,
        r#"{"result":{"tools":[{"name":"read_a"},{"name":"\u0072ead_g"}]}}"#
    );
}

#[test]
fn the_name_is_decoded_before_it_is_judged() {
    let seen = std::cell::RefCell::new(Vec::new());
    let record = |name: &str| {
        seen.borrow_mut().push(name.to_string());
        true
    };
    let body = r#"{"result":{"tools":[{"name":"caf\u00e9"},{"name":"a\"b"},{"name":"\/x"}]}}"#;
    assert_eq!(filter_tools_list(body.as_bytes(), JSON, &record), Ok(None));
    assert_eq!(*seen.borrow(), ["caf\u{e9}", "a\"b", "/x"]);
}

#[test]
fn responses_without_result_tools_are_unchanged() {
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"tools"}]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":null}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":[{"tools":[{"name":"x"}]}]}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"tools":[{"name":"x"}]}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
        r#"{"tools":[{"name":"x"}]}"#,
        r#"{}"#,
        r#""text""#,
        "42",
        "[]",
    ] {
        assert_eq!(run(body, JSON), Ok(None), "{body}");
    }
}

#[test]
fn escaped_member_names_are_recognised() {
    let body = r#"{"\u0072esult":{"t\u006fols":[{"name":"delete"}]}}"#;
    assert_eq!(
        run(body, JSON).unwrap().unwrap(),
        r#"{"\u0072esult":{"t\u006fols":[]}}"#
    );
}

#[test]
fn duplicate_members_on_the_way_are_refused() {
    for (body, member) in [
        (
            r#"{"result":{"tools":[]},"result":{"tools":[{"name":"delete"}]}}"#,
            "result",
        ),
        (
            r#"{"result":{"tools":[{"name":"delete"}]},"\u0072esult":null}"#,
            "result",
        ),
        (
            r#"{"result":{"tools":[],"tools":[{"name":"delete"}]}}"#,
            "tools",
        ),
    ] {
        assert_eq!(
            run(body, JSON),
            Err(ListFilterError::DuplicateMember(member)),
            "{body}"
        );
    }
}

#[test]
fn tools_that_is_not_an_array_is_refused() {
    for tools in [r#"{"name":"delete"}"#, "null", r#""delete""#, "1"] {
        let body = format!(r#"{{"result":{{"tools":{tools}}}}}"#);
        assert_eq!(
            run(&body, JSON),
            Err(ListFilterError::ToolsNotArray),
            "{body}"
        );
    }
}

#[test]
fn batches_are_filtered_element_by_element() {
    let body = format!(r#"[{LIST}, {{"id":8,"error":{{"code":1,"message":"m"}}}}, 3]"#);
    let out = run(&body, JSON).unwrap().unwrap();
    let value: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(names(&value[0].to_string()), ["read_file", "read_dir"]);
    assert_eq!(value[1]["error"]["code"], json!(1));
    assert_eq!(value[2], json!(3));
}

#[test]
fn invalid_json_is_refused() {
    for body in [
        "",
        " ",
        "{",
        r#"{"result":{"tools":[{"name":"read"},]}}"#,
        r#"{"result":{"tools":[]}} trailing"#,
        r#"{"result":{"tools":[]}}{}"#,
        r#"{"result":NaN}"#,
        "{'result':1}",
        "\u{feff}{}",
        "{\"a\":\"raw\nline\"}",
    ] {
        assert_eq!(run(body, JSON), Err(ListFilterError::NotJson), "{body:?}");
    }
}

#[test]
fn bodies_that_are_not_utf8_are_refused() {
    let mut body = LIST.as_bytes().to_vec();
    body.insert(40, 0xff);
    assert_eq!(
        filter_tools_list(&body, JSON, &readers),
        Err(ListFilterError::NotUtf8)
    );
    assert_eq!(
        filter_tools_list(b"data: \xff\n\n", SSE, &readers),
        Err(ListFilterError::NotUtf8)
    );
}

#[test]
fn deep_nesting_elsewhere_does_not_stop_the_filter() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let body = format!(
        r#"{{"result":{{"tools":[{{"name":"delete","inputSchema":{deep}}},{{"name":"read","x":{deep}}}]}}}}"#
    );
    let out = run(&body, JSON).unwrap().unwrap();
    assert!(out.starts_with(r#"{"result":{"tools":[{"name":"read","x":[[["#));
}

#[test]
fn sse_single_event() {
    let body = format!("event: message\nid: 42\ndata: {LIST}\n\n");
    let out = run(&body, SSE).unwrap().unwrap();
    let expected = concat!(
        "event: message\nid: 42\ndata: ",
        r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}},{"name":"read_dir"}],"nextCursor":"c2"}}"#,
        "\n\n"
    );
    assert_eq!(out, expected);
}

#[test]
fn sse_several_events_only_the_tool_list_changes() {
    let ping = ": keep-alive\n\n";
    let priming = "id: prime-1\ndata:\n\n";
    let request =
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"roots/list\"}\n\n";
    let progress = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"tools\":[{\"name\":\"delete\"}]}}\n\n";
    let list = format!("id: 9\r\ndata:{LIST}\r\nretry: 1000\r\n\r\n");
    let body = format!("{ping}{priming}{request}{list}{progress}");
    let out = run(&body, SSE).unwrap().unwrap();
    let expected_list = format!(
        "id: 9\r\ndata: {}\r\nretry: 1000\r\n\r\n",
        run(LIST, JSON).unwrap().unwrap()
    );
    assert_eq!(
        out,
        format!("{ping}{priming}{request}{expected_list}{progress}")
    );
}

#[test]
fn sse_without_a_tool_list_is_unchanged() {
    for body in [
        "",
        "\n\n\n",
        ": only a comment\n",
        "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
        "event: endpoint\ndata:   \n\n",
        "retry: 10\n\n",
    ] {
        assert_eq!(run(body, SSE), Ok(None), "{body:?}");
    }
}

#[test]
fn sse_crlf_is_one_line_ending() {
    // Read as CR then LF, the `\r\n` would end the event after its first line.
    let body = "data: {\"jsonrpc\":\"2.0\",\r\ndata: \"result\":{\"tools\":[{\"name\":\"delete\"}]}}\r\n\r\n";
    let out = run(body, SSE).unwrap().unwrap();
    assert_eq!(
        out,
        "data: {\"jsonrpc\":\"2.0\",\r\ndata: \"result\":{\"tools\":[]}}\r\n\r\n"
    );
}

#[test]
fn sse_cr_and_lf_line_endings() {
    for ending in ["\n", "\r", "\r\n"] {
        let body = format!("event: message{ending}data: {LIST}{ending}{ending}: after{ending}");
        let out = run(&body, SSE).unwrap().unwrap();
        let kept = run(LIST, JSON).unwrap().unwrap();
        assert_eq!(
            out,
            format!("event: message{ending}data: {kept}{ending}{ending}: after{ending}"),
            "{ending:?}"
        );
    }
}

#[test]
fn sse_data_split_across_lines_is_joined_and_rewritten() {
    let body = "id: 3\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\ndata:\"result\":{\"tools\":[\ndata: {\"name\":\"read_a\"},\ndata: {\"name\":\"drop\"}]}}\nevent: message\n\n";
    let out = run(body, SSE).unwrap().unwrap();
    assert_eq!(
        out,
        "id: 3\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\ndata: \"result\":{\"tools\":[{\"name\":\"read_a\"}]}}\nevent: message\n\n"
    );
}

#[test]
fn sse_data_field_forms() {
    // `data` without a colon adds an empty line; one space after the colon is dropped.
    let body = "data\ndata:  {\"result\":{\"tools\":[{\"name\":\"x\"}]}}\n\n";
    assert_eq!(
        run(body, SSE).unwrap().unwrap(),
        "data: \ndata:  {\"result\":{\"tools\":[]}}\n\n"
    );
    // Field names are case-sensitive: `Data:` is an unknown field, the event has no data.
    assert_eq!(
        run("Data: {\"result\":{\"tools\":[{\"name\":\"x\"}]}}\n\n", SSE),
        Ok(None)
    );
}

#[test]
fn sse_final_event_without_blank_line_is_filtered_too() {
    let body = format!(": x\n\ndata: {LIST}");
    let kept = run(LIST, JSON).unwrap().unwrap();
    assert_eq!(
        run(&body, SSE).unwrap().unwrap(),
        format!(": x\n\ndata: {kept}")
    );
}

#[test]
fn sse_byte_order_mark_is_kept() {
    let body = format!("\u{feff}data: {LIST}\n\n");
    let kept = run(LIST, JSON).unwrap().unwrap();
    assert_eq!(
        run(&body, SSE).unwrap().unwrap(),
        format!("\u{feff}data: {kept}\n\n")
    );
}

#[test]
fn sse_errors_fail_the_whole_stream() {
    let bad_json = "data: {\"jsonrpc\":\"2.0\"\n\n";
    assert_eq!(run(bad_json, SSE), Err(ListFilterError::NotJson));
    let text = "data: ping\n\n";
    assert_eq!(run(text, SSE), Err(ListFilterError::NotJson));
    let duplicate = format!("data: {LIST}\n\ndata: {{\"result\":1,\"result\":2}}\n\n");
    assert_eq!(
        run(&duplicate, SSE),
        Err(ListFilterError::DuplicateMember("result"))
    );
}

#[test]
fn never_panics_on_odd_input() {
    for body in [
        "\r",
        "\n",
        "\r\r\n\n",
        ":",
        "data",
        "data:",
        "data:\r",
        "\u{feff}",
        "\u{feff}\r\n",
        "data: \u{e9}\u{1f600}\n",
        "{",
        "}",
        "[",
        "\"",
        "\\",
        "{\"result\":{\"tools\":[",
    ] {
        let _ = run(body, SSE);
        let _ = run(body, JSON);
    }
}
