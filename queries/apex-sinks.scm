; Calls through which an HTTP request leaves the org. The frontend checks the receiver's type
; (Http, Continuation) on each match; the request is the call's single argument.
;   Http.send(request)                  synchronous callout
;   Continuation.addHttpRequest(request) asynchronous callout started from Lightning or Visualforce
; The query is not run on ASCII files that never spell one of these names (SINK_METHOD_NAMES in
; apexscan/frontends/apex.py): add a new name there too.
((method_invocation
   name: (identifier) @method
   arguments: (argument_list . (_) @request .)) @sink
 (#match? @method "^(?i:send|addHttpRequest)$"))
