def queue(r):
    pass


next_case = case_page = case_claim_view = case_approve_view = case_correct_view = case_take_over_view = (
    case_reply_view
) = case_close_view = queue
